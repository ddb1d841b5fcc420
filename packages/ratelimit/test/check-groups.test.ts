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

  it('a plain check alone goes to `check` with its time in hexadecimal and no count or mode; a peek alone to `checks`; any other time (before 1970) as "=" and decimal', async () => {
    const plans = {
      pro: { limits: [{ name: 'minute', limit: 3, window: '1 m' }] },
      counter: { limits: [{ name: 'hour', limit: 5, window: '1 h', algorithm: 'sliding-window' }] },
    } satisfies PlansConfig;
    let t = 1_700_000_000_000;
    const c = new Redis(inject('redisUrl'));
    try {
      const options = { plans, controls: false, topConsumers: false, denyCache: false, clock: () => t } as const;
      const redis = createRateLimiter({ ...options, store: createRedisStore({ client: c, prefix: prefix() }) });
      const memory = createRateLimiter({ ...options, store: createMemoryStore() });
      await redis.peek('warm-up', { plan: 'pro' });
      await redis.peek('warm-up', { plan: 'counter' });
      const sent: string[][] = [];
      const call = c.call.bind(c) as (...args: unknown[]) => Promise<unknown>;
      (c as unknown as { call: unknown }).call = (...args: unknown[]) => {
        if (args[0] === 'FCALL') sent.push(args.map(String));
        return call(...args);
      };
      const argv = (command: string[]) => command.slice(3 + Number(command[2]));
      const both = async (f: (l: typeof redis) => ReturnType<typeof redis.check>) => {
        const [a, b] = [await f(redis), await f(memory)];
        expect([a.allowed, a.limits.map((l) => [l.remaining, l.resetAt])]).toEqual([b.allowed, b.limits.map((l) => [l.remaining, l.resetAt])]);
        return a;
      };
      await both((l) => l.check('x', { plan: 'pro' }));
      expect(sent.at(-1)![1]).toMatch(/_check$/);
      expect(argv(sent.at(-1)!)).toEqual([t.toString(16), expect.any(String), '1']);
      await both((l) => l.peek('x', { plan: 'pro' }));
      expect(sent.at(-1)![1]).toMatch(/_checks$/);
      expect(argv(sent.at(-1)!)).toEqual(['1', t.toString(16), '0', expect.any(String), '1']);
      // denied at the fourth: the sign of remaining (no status in a one-limit plan's reply)
      for (let i = 0; i < 3; i++) await both((l) => l.check('x', { plan: 'pro' }));
      expect((await both((l) => l.check('x', { plan: 'pro' }))).allowed).toBe(false);
      t = -90_061_001;
      await both((l) => l.check('y', { plan: 'counter', cost: 2 }));
      expect(argv(sent.at(-1)!)[0]).toBe(`=${t}`);
      await redis.close();
      await memory.close();
    } finally {
      c.disconnect();
    }
  });
});
