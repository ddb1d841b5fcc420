// The built admin app on a Redis this test starts and stops: with Redis stopped, every page says
// "Redis unreachable" (HTTP 200, no error page, no client library's text), liveness stays ok and
// says degraded, readiness answers 503 with the problem.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runPrefix, type Server, startServer } from '@airl/vitest-config/redis';

import { Redis } from 'ioredis';

import { DEMO_ADMIN } from '~/server/accounts';
import { ADMIN_SESSION_COOKIE, createAdminSessions, passwordFingerprint } from '~/server/session';

import { ADMIN_DIR, type RunningApp, startNextApp } from './support/apps';

const SECRET = 'outage-admin-session-secret-0123456789-abc';
const LEAKS = /Command timed out|max retries|ECONNREFUSED|ECONNRESET|ioredis|Connection is closed|Application error|Internal Server Error|did not answer/i;

let server: Server;
let app: RunningApp;
let prefix: string;

beforeAll(async () => {
  server = await startServer();
  prefix = runPrefix();
  app = await startNextApp(ADMIN_DIR, { REDIS_URL: `redis://127.0.0.1:${server.port}`, RATE_LIMIT_PREFIX: prefix, DEMO_ADMIN: 'true', SESSION_SECRET: SECRET });
}, 180_000);
afterAll(async () => {
  await app?.stop();
  await server?.stop();
});

async function get(path: string, cookie?: string) {
  const res = await fetch(`${app.url}${path}`, { headers: { ...(cookie && { cookie }) }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

describe('the admin app with Redis stopped', () => {
  it('shows "Redis unreachable" on its pages, and health says degraded', { timeout: 180_000 }, async () => {
    // a session in the app's store; the page read below leaves the app its copy for the outage
    const redis = new Redis(server.port, '127.0.0.1');
    const cookie = `${ADMIN_SESSION_COOKIE}=${await createAdminSessions(prefix, () => redis).create(DEMO_ADMIN.name, passwordFingerprint(DEMO_ADMIN.passwordHash))}`;
    await redis.quit();
    expect((await get('/', cookie)).status).toBe(200);
    expect((await get('/api/health?ready')).status).toBe(200);

    await server.stop();

    for (const path of ['/', '/audit', '/creators/creator-ava']) {
      const page = await get(path, cookie);
      expect(page.status, `${path}: ${app.output().slice(-2000)}`).toBe(200);
      expect(page.text, path).toContain('data-testid="unavailable"');
      expect(page.text, path).toContain('Redis unreachable');
      expect(page.text, path).not.toMatch(LEAKS);
    }
    const signIn = await get('/sign-in');
    expect(signIn.status).toBe(200);

    const live = await get('/api/health');
    expect(live.status).toBe(200);
    expect(JSON.parse(live.text)).toEqual({ ok: true, degraded: true });
    const ready = await get('/api/health?ready');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ ok: true, ready: false, problem: expect.stringMatching(/^Redis unreachable/) as string });
    expect(ready.text).not.toMatch(LEAKS);
  });
});
