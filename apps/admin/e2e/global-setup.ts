// Starts BOTH apps, built, on free ports, on one real Redis under one fresh key prefix, as they run
// side by side in production: the web app where creators use the AI features, the admin app with
// two admin accounts, behind one (simulated) proxy so tests can pose as different client addresses.
import { randomUUID } from 'node:crypto';

import { deleteRunKeys } from '@airl/vitest-config/cleanup';
import { ensureRedis } from '@airl/vitest-config/redis';

import { hashPassword } from '../src/server/passwords';
import { ADMIN_DIR, type RunningApp, startNextApp, WEB_DIR } from '../test/support/apps';
import { ADMIN_SESSION_SECRET, ADMINS, WEB_SESSION_SECRET } from './fixtures';

export default async function globalSetup() {
  const redis = await ensureRedis();
  const prefix = `e2e-admin-${randomUUID().slice(0, 8)}`;
  const shared = { REDIS_URL: redis.url, RATE_LIMIT_PREFIX: prefix };
  const users = await Promise.all(Object.entries(ADMINS).map(async ([name, password]) => `${name}:${await hashPassword(password)}`));
  const started: RunningApp[] = [];
  const stop = async () => {
    for (const app of started.reverse()) await app.stop();
    await deleteRunKeys(redis.url, prefix);
    await redis.stop();
  };
  try {
    // one after the other: two cold starts at once are slow on 2 cores
    const web = await startNextApp(WEB_DIR, { ...shared, DEMO_SIGN_IN: 'true', SESSION_SECRET: WEB_SESSION_SECRET });
    started.push(web);
    const admin = await startNextApp(ADMIN_DIR, { ...shared, ADMIN_USERS: users.join(' '), DEMO_ADMIN: 'false', SESSION_SECRET: ADMIN_SESSION_SECRET, TRUSTED_PROXY_COUNT: '1' });
    started.push(admin);
    process.env.E2E_WEB_URL = web.url;
    process.env.E2E_ADMIN_URL = admin.url;
  } catch (error) {
    await stop();
    throw error;
  }
  process.env.E2E_REDIS_URL = redis.url;
  process.env.E2E_PREFIX = prefix;
  return stop;
}
