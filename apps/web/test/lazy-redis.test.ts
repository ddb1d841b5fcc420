/// <reference types="@airl/vitest-config/provided" />
// Nothing connects at import or when the app is assembled (what `next build` does): the first
// connection is made by the first limiter call. And /api/test-redis in development.
import { type CountingListener, countingListener } from '@airl/vitest-config/counting-listener';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { createLimiters } from '@airl/creators/limiters';

import { getApp } from '~/server/app';
import { loadConfig } from '~/server/config';
import { testRedis } from '~/server/test-redis';

describe('the Redis connection', () => {
  let listener: CountingListener;
  beforeAll(async () => {
    listener = await countingListener();
  });
  afterAll(() => listener.close());

  it('is not opened by importing the routes or assembling the app, only by the first check', async () => {
    process.env.REDIS_URL = `redis://127.0.0.1:${listener.port}`;
    try {
      await import('../src/app/api/trpc/[trpc]/route');
      await import('../src/app/api/test-redis/route');
      const app = getApp();
      expect(app.limiters.storage).toBe('redis');
      // connection errors go to the app's throttled log line, not ioredis's "Unhandled error event"
      expect(app.limiters.client()!.listenerCount('error')).toBe(1);
      await new Promise((r) => setTimeout(r, 200));
      expect(listener.connections()).toBe(0);
      // nothing answers there: the in-memory fallback decides, after one connection attempt
      expect((await app.limiters.limiter.peek('creator-ava', { plan: 'starter' })).degraded).toBe('fallback');
      expect(listener.connections()).toBeGreaterThan(0);
      await app.limiters.close();
    } finally {
      delete process.env.REDIS_URL;
      delete (globalThis as { __airlWebApp?: unknown }).__airlWebApp;
    }
  });
});

describe('GET /api/test-redis in development', () => {
  const req = new Request('http://app.test/api/test-redis');

  it('is open, and answers CONFIGURATION_ERROR (500) without a Redis', async () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    const limiters = createLimiters({});
    const res = await testRedis(req, { config, limiters });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ success: false, errorType: 'CONFIGURATION_ERROR', troubleshooting: { possibleCauses: expect.any(Array) as unknown[] } });
    await limiters.close();
  });

  it('answers success on a Redis, without a token', async () => {
    const config = loadConfig({ NODE_ENV: 'development', REDIS_URL: inject('redisUrl') });
    const limiters = createLimiters({ ...config.limiters, prefix: 'test-lazy' });
    const res = await testRedis(req, { config, limiters });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, tests: { ping: { result: 'PONG' }, get: { value: 'success' } } });
    await limiters.close();
  });

  it('answers 503 with Retry-After: 60 when the Redis cannot be reached', async () => {
    const config = loadConfig({ NODE_ENV: 'development', REDIS_URL: 'redis://127.0.0.1:1' });
    const errors: string[] = [];
    const limiters = createLimiters({ ...config.limiters, onClientError: (e) => errors.push(e.message) });
    const res = await testRedis(req, { config, limiters });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(await res.json()).toMatchObject({ success: false, errorType: 'CONNECTION_ERROR' });
    expect(errors[0]).toMatch(/ECONNREFUSED/);
    await limiters.close();
  });
});

describe('GET /api/test-redis in production', () => {
  it('answers 403 FORBIDDEN when it is off, 401 UNAUTHORIZED without the right token: status and type agree', async () => {
    const limiters = createLimiters({});
    const off = await testRedis(new Request('http://app.test/api/test-redis'), { config: loadConfig({ NODE_ENV: 'production', DEMO_SIGN_IN: 'true' }), limiters });
    expect(off.status).toBe(403);
    expect(await off.json()).toMatchObject({ success: false, errorType: 'FORBIDDEN' });
    const config = loadConfig({ NODE_ENV: 'production', DEMO_SIGN_IN: 'true', TEST_REDIS_TOKEN: 't'.repeat(20) });
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${'t'.repeat(19)}`]) {
      const res = await testRedis(new Request('http://app.test/api/test-redis', { headers: authorization ? { authorization } : {} }), { config, limiters });
      expect(res.status, authorization).toBe(401);
      expect(await res.json()).toMatchObject({ success: false, errorType: 'UNAUTHORIZED' });
    }
    await limiters.close();
  });
});
