// The app's limiter publishes its EMF metrics: decisions, and the fallback answers the
// "answered without Redis" alarms of @airl/infra count, reach the lines it writes to stdout.
import { type CountingListener, countingListener } from '@airl/vitest-config/counting-listener';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { getApp } from '~/server/app';

describe('limiter metrics', () => {
  let listener: CountingListener;
  beforeAll(async () => {
    listener = await countingListener();
  });
  afterAll(() => listener.close());

  it('counts the app limiter’s decisions, and those the fallback answered, in CloudWatch EMF on stdout', async () => {
    // a Redis that never answers: the default policy answers from the in-process fallback
    process.env.REDIS_URL = `redis://127.0.0.1:${listener.port}`;
    process.env.RATE_LIMIT_METRICS = 'true';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const app = getApp();
      expect(app.metrics).toBeDefined();
      for (let i = 0; i < 3; i++) expect((await app.limiters.limiter.check('creator-ava', { plan: 'starter' })).degraded).toBe('fallback');
      app.metrics!.flush();
      const lines = write.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('"_aws"'));
      expect(lines).toHaveLength(1);
      const doc = JSON.parse(lines[0]!) as Record<string, unknown>;
      // one decision per call; the outage is reported by the creators' limiter and by the
      // provider's shared budget (each its own breaker: on a cluster its key is on another shard)
      expect(doc).toMatchObject({ Service: 'ai-ratelimit', Allowed: 3, Denied: 0, Fallback: 3, StoreUnavailable: 2 });
      await app.limiters.close();
      app.metrics!.close();
    } finally {
      write.mockRestore();
      delete process.env.REDIS_URL;
      delete process.env.RATE_LIMIT_METRICS;
      delete (globalThis as { __airlWebApp?: unknown }).__airlWebApp;
    }
  });
});
