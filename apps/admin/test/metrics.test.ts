// The admin app's limiters publish the same EMF metrics as the web app's (same namespace and
// dimensions, so @airl/infra's alarms count both), and closing the app flushes what is left;
// closing it also closes the sign-in store but not a client it was given.
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';

import { createAdminApp } from '~/server/app';
import { loadConfig } from '~/server/config';

describe('limiter metrics', () => {
  it('are on when configured: decisions reach EMF lines, flushed on close', async () => {
    const lines: string[] = [];
    const app = createAdminApp(loadConfig({ NODE_ENV: 'test', DEMO_ADMIN: 'true', RATE_LIMIT_METRICS: 'true' }), { writeMetrics: (l) => lines.push(l) });
    expect(app.metrics).toBeDefined();
    for (let i = 0; i < 7; i++) await app.limiters.limiter.check('creator-ava', { plan: 'starter' });
    await app.close();
    expect(lines).toHaveLength(1);
    const doc = JSON.parse(lines[0]!) as { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] } } & Record<string, unknown>;
    // the starter plan's burst limit is 5
    expect(doc).toMatchObject({ Service: 'ai-ratelimit', Allowed: 5, Denied: 2, Fallback: 0, FailOpen: 0, FailClosed: 0 });
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'AIRateLimit', Dimensions: [['Service']] });
  });

  it('are off when not: no emitter, nothing written', async () => {
    const lines: string[] = [];
    const app = createAdminApp(loadConfig({ NODE_ENV: 'test', DEMO_ADMIN: 'true', RATE_LIMIT_METRICS: 'false' }), { writeMetrics: (l) => lines.push(l) });
    expect(app.metrics).toBeUndefined();
    await app.limiters.limiter.check('creator-ava', { plan: 'starter' });
    await app.close();
    expect(lines).toEqual([]);
  });
});

describe('closing the app', () => {
  it('closes the sign-in store without closing the shared client it was given', async () => {
    const client = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
    try {
      const app = createAdminApp(loadConfig({ NODE_ENV: 'test', DEMO_ADMIN: 'true', RATE_LIMIT_METRICS: 'false', RATE_LIMIT_PREFIX: `test-close-${Date.now()}` }), { client });
      await app.signIn.check('demo', { plan: 'account' });
      await app.close();
      expect(await client.ping()).toBe('PONG');
    } finally {
      await client.quit();
    }
  });
});
