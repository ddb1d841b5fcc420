// Nothing connects at import or when the app is assembled (what `next build` does): the first
// connection is made by the first admin call, on the client the web app's limiters would use.
import { RateLimitStoreError } from '@airl/ratelimit';
import { type CountingListener, countingListener } from '@airl/vitest-config/counting-listener';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getApp } from '~/server/app';

describe('the Redis connection', () => {
  let listener: CountingListener;
  beforeAll(async () => {
    listener = await countingListener();
  });
  afterAll(() => listener.close());

  it('is not opened by importing the actions, the gate and the routes or assembling the app, only by the first call', async () => {
    process.env.REDIS_URL = `redis://127.0.0.1:${listener.port}`;
    try {
      await import('../src/app/api/health/route');
      await import('../src/app/actions');
      await import('../src/server/guard');
      const app = getApp();
      expect(app.limiters.storage).toBe('redis');
      await new Promise((r) => setTimeout(r, 200));
      expect(listener.connections()).toBe(0);
      // nothing answers there: the call fails fast with the store error the pages turn into a message
      await expect(app.admin.audit()).rejects.toBeInstanceOf(RateLimitStoreError);
      expect(listener.connections()).toBeGreaterThan(0);
      await app.close();
    } finally {
      delete process.env.REDIS_URL;
      delete (globalThis as { __airlAdminApp?: unknown }).__airlAdminApp;
    }
  });
});
