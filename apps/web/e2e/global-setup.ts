// Starts the built app on a free port, on a real Redis under a random prefix, for the browser tests.
// The tests read where it runs from the environment (set here, inherited by the workers).
import { randomUUID } from 'node:crypto';

import { ensureRedis } from '@airl/vitest-config/redis';

import { startApp } from '../test/support/app-server';

export default async function globalSetup() {
  const redis = await ensureRedis();
  const prefix = `e2e-${randomUUID().slice(0, 8)}`;
  const app = await startApp({ REDIS_URL: redis.url, RATE_LIMIT_PREFIX: prefix });
  process.env.E2E_BASE_URL = app.url;
  process.env.E2E_REDIS_URL = redis.url;
  process.env.E2E_PREFIX = prefix;
  return async () => {
    await app.stop();
    await redis.stop();
  };
}
