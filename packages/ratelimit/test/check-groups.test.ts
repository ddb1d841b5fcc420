// Checks started in one tick go to Redis as one call, in groups: checks in a row with the same
// time, mode, plan and costs are sent and decoded once (see src/lua/check.lua). A tick of every
// kind of call, in an order that makes groups of several sizes, must answer as the model does.
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';

import { createMemoryStore, createRateLimiter, type PlansConfig } from '../src/index';
import { createRedisStore } from '../src/redis';
import { prefix } from './fixtures/stores';

describe('checks started together, in groups', () => {
  it('checks in a row with the same time, mode, plan and costs go as one group; a mixed tick answers as if each were sent alone', async () => {
    const mixed = {
      pro: { limits: [{ name: 'minute', limit: 6, window: '1 m' }] },
      counter: { limits: [{ name: 'hour', limit: 8, window: '1 h', algorithm: 'sliding-window' }] },
      both: { limits: [{ name: 'minute', limit: 6, window: '1 m' }, { name: 'tokens', limit: 40, window: '1 h', unit: 'tokens', algorithm: 'sliding-window' }] },
    } satisfies PlansConfig;
    const c = new Redis(inject('redisUrl'));
    try {
      const options = { plans: mixed, controls: false, topConsumers: false, denyCache: false, clock: () => 1_700_000_000_000 } as const;
      const redis = createRateLimiter({ ...options, store: createRedisStore({ client: c, prefix: prefix() }) });
      const memory = createRateLimiter({ ...options, store: createMemoryStore() });
      await redis.peek('warm-up', { plan: 'pro' }); // loads the library and learns the plans
      await redis.peek('warm-up', { plan: 'counter' });
      await redis.peek('warm-up', { plan: 'both' });
      const sent: (string | number)[][] = [];
      const call = c.call.bind(c) as (...args: unknown[]) => Promise<unknown>;
      (c as unknown as { call: unknown }).call = (...args: unknown[]) => {
        if (args[0] === 'FCALL') sent.push(args as (string | number)[]);
        return call(...args);
      };
      // ten alike: one group, its arguments once (count, now, mode, plan, cost)
      await Promise.all(Array.from({ length: 10 }, () => redis.check('alike', { plan: 'pro' })));
      expect(sent).toHaveLength(1);
      expect(sent[0]!.length - 3 - Number(sent[0]![2])).toBe(5);
      // a tick of every kind, in an order that makes groups of several sizes
      const tick = (l: typeof redis) => [
        ...['a', 'b', 'a', 'a'].map((id) => l.check(id, { plan: 'pro' })),
        ...['a', 'b'].map((id) => l.check(id, { plan: 'both', cost: 15 })),
        l.peek('a', { plan: 'both', cost: 15 }),
        l.check('a', { plan: 'both', cost: 15 }),
        ...['a', 'b', 'c'].map((id) => l.check(id, { plan: 'counter', cost: 3 })),
        l.reserve('a', { plan: 'both', cost: 12 }),
        l.check('a', { plan: 'pro' }),
        l.check('a', { plan: 'pro', cost: 2 }),
      ];
      const outcome = (rs: Awaited<ReturnType<typeof redis.check>>[]) => rs.map((r) => [r.allowed, r.limits.map((l) => [l.remaining, l.resetAt])]);
      for (let round = 0; round < 3; round++) {
        const [fromRedis, fromMemory] = [await Promise.all(tick(redis)), await Promise.all(tick(memory))];
        expect(outcome(fromRedis), `round ${round}`).toEqual(outcome(fromMemory));
      }
      await redis.close();
      await memory.close();
    } finally {
      c.disconnect();
    }
  });
});
