// Admins' controls reach a limiter that started while its Redis was down: the subscription to
// their announcements is made when the connection comes, not only at start.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

import { freePorts, runPrefix, type Server, startServer } from '@airl/vitest-config/redis';

import { createRateLimitAdmin } from '../src/admin';
import { createRateLimiter, type RateLimiter } from '../src/index';
import { createRedisClient, createRedisStore } from '../src/redis';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` until `done` holds of its value, or `ms` pass; resolves with the last value. */
async function until<T>(ms: number, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('a limiter started while Redis is down', () => {
  it('subscribes to admin controls once Redis is up, and applies a block within seconds', { timeout: 60_000 }, async () => {
    const [port] = await freePorts(1);
    const prefix = runPrefix();
    const config = { host: '127.0.0.1', port: port!, tls: false, username: undefined, password: undefined, cluster: false };
    // the periodic reload is an hour away: only the subscription can bring the block in time
    const limiter: RateLimiter = createRateLimiter({
      store: createRedisStore({ client: () => createRedisClient(config), prefix, timeout: '300 ms' }),
      controls: { refresh: '1 h' },
      logger: false,
    });
    cleanup.push(() => limiter.close());

    // nothing listens on the port yet
    expect(await limiter.check('creator-1', { plan: 'pro' })).toMatchObject({ allowed: true, degraded: 'fallback' });

    const server: Server = await startServer({ port });
    cleanup.push(() => server.stop());
    const probe = new Redis({ port: port!, lazyConnect: true });
    cleanup.push(() => probe.quit());

    const subscribers = await until(15_000, async () => ((await probe.pubsub('NUMSUB', `${prefix}:control`)) as [string, number])[1], (n) => n >= 1);
    expect(subscribers).toBe(1);

    // the limiter uses Redis again (its breaker retries after 2 s), and has loaded the controls
    const back = await until(15_000, () => limiter.check('creator-1', { plan: 'pro' }), (r) => r.degraded === undefined);
    expect(back.degraded).toBeUndefined();

    const adminStore = createRedisStore({ client: () => createRedisClient(config), prefix });
    const adminLimiter = createRateLimiter({ store: adminStore, topConsumers: false, logger: false });
    cleanup.push(() => adminLimiter.close().then(() => adminStore.close?.()));
    const admin = createRateLimitAdmin(adminLimiter);
    await admin.block('creator-1', { actor: 'test', for: '10 m', reason: 'controls recovery' });
    const started = Date.now();
    const blocked = await until(5_000, () => limiter.check('creator-1', { plan: 'pro' }), (r) => r.deniedBy === 'blocked');
    expect(blocked.deniedBy).toBe('blocked');
    // "at once" on a loaded machine: well under the hour of the periodic reload
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
