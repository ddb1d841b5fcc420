// What is particular to each store: the memory store's bounded memory, the Redis key layout
// (TTL on every key, one cluster slot per identifier), the Redis clock, the generated Lua.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { type Cluster, Redis } from 'ioredis';
import { startServer } from '@airl/vitest-config/redis';
import { describe, expect, inject, it } from 'vitest';

import { createMemoryStore, createRateLimiter, type PlansConfig, RateLimitConfigError } from '../src/index';
import { type LimitingStore, storeConcerns } from '../src/store';
import { renderScripts } from '../src/lua/render';
import { compilePolicy } from '../src/policy';
import * as scripts from '../src/lua/scripts.generated';
import { createRedisStore, encodeIdentifier, type RedisClient } from '../src/redis';
import { client, makeRedisStore, manualClock, prefix } from './fixtures/stores';

const plans = {
  pro: {
    limits: [
      { name: 'minute', limit: 5, window: '1 m' },
      { name: 'tokens', limit: 1000, window: '1 h', unit: 'tokens', algorithm: 'sliding-window' },
      { name: 'burst', limit: 3, window: '10 s', algorithm: 'token-bucket' },
      { name: 'month', limit: 100, window: 'month', algorithm: 'fixed-window', unit: 'tokens' },
    ],
  },
} satisfies PlansConfig;

describe('store concerns', () => {
  it('memory, Redis and Lambda stores implement every concern', async () => {
    const { createLambdaStore } = await import('../src/lambda');
    const all = ['limiting', 'controls', 'usage', 'streams'];
    expect([...storeConcerns(createMemoryStore())]).toEqual(all);
    expect([...storeConcerns(makeRedisStore('redis'))]).toEqual(all);
    expect([...storeConcerns(createLambdaStore({ functionName: 'f', client: {} as never }))]).toEqual(all);
  });

  it('a store with only the limiting concern is refused by the limiter, naming what to implement', () => {
    const memory = createMemoryStore();
    const counting = {
      kind: 'counting',
      evaluate: (r: Parameters<typeof memory.evaluate>[0]) => memory.evaluate(r),
      settle: (r: Parameters<typeof memory.settle>[0]) => memory.settle(r),
      reset: (r: Parameters<typeof memory.reset>[0]) => memory.reset(r),
      inspect: (id: string, now: number | undefined) => memory.inspect(id, now),
    } satisfies LimitingStore;
    expect([...storeConcerns(counting)]).toEqual(['limiting']);
    const made = () => createRateLimiter({ store: counting as never });
    expect(made).toThrow(RateLimitConfigError);
    expect(made).toThrow(/'counting' store does not implement controls \(controls\(\), .*listen\(\)\); usage \(addUsage\(\), topUsage\(\)\); streams \(append\(\), read\(\)\)/);
  });
});

describe('memory store', () => {
  it('drops identifiers once nothing about them can matter', async () => {
    const store = createMemoryStore();
    const clock = manualClock();
    const limiter = createRateLimiter({ plans, store, clock, reservationTtl: '1 m' });
    for (let i = 0; i < 1000; i++) await limiter.check(`user-${i}`, { plan: 'pro', cost: 3 });
    expect(store.size).toBe(1000);
    store.sweep(clock() + 31 * 86_400_000 - 1);
    expect(store.size).toBe(1000);
    store.sweep(clock() + 31 * 86_400_000);
    expect(store.size).toBe(0);
    await store.close();
  });

  it('forgets by its calls\' clock: a call behind one past a limit\'s window finds it forgotten, unless `retention` keeps it (found by the model test)', async () => {
    const limits = compilePolicy({
      p: {
        limits: [
          { name: 'fixed', limit: 30, window: '30 m', algorithm: 'fixed-window' },
          { name: 'bucket', limit: 7, window: '20 m', algorithm: 'token-bucket' },
        ],
      },
    }).plans.get('p')!.limits;
    const t0 = 1_751_814_000_000; // a 30-minute window starts here
    const remaining = async (store: ReturnType<typeof createMemoryStore>) => {
      const call = (l: number, now: number) =>
        store.evaluate({ identifier: 'x', limits: [limits[l]!], costs: [1], mode: 'check', now, reservationTtlMs: 60_000, stateTtlMs: 3_600_000, deadline: Infinity });
      await call(0, t0);
      // the fixed window's count is past its retention at t0 + 30 m, when another limit is charged
      await call(1, t0 + 1_800_000);
      // a caller whose clock is 1 ms behind is still in the first window
      const left = (await call(0, t0 + 1_799_999)).limits[0]!.remaining;
      await store.close();
      return left;
    };
    expect(await remaining(createMemoryStore())).toBe(29);
    expect(await remaining(createMemoryStore({ retention: '1 h' }))).toBe(28);
  });

  it('does not keep state for peeks or denied calls of unknown identifiers', async () => {
    const store = createMemoryStore();
    const limiter = createRateLimiter({ plans, store });
    for (let i = 0; i < 100; i++) await limiter.peek(`peek-${i}`, { plan: 'pro' });
    expect(store.size).toBe(0);
    await store.close();
  });

  it('its sweep timer never keeps the process alive', () => {
    const timers: NodeJS.Timeout[] = [];
    const original = globalThis.setInterval;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      const t = original(...args);
      timers.push(t);
      return t;
    });
    try {
      const store = createMemoryStore();
      expect(timers).toHaveLength(1);
      expect(timers[0]?.hasRef()).toBe(false);
      void store.close();
    } finally {
      globalThis.setInterval = original;
    }
  });
});

describe.each(['redis', 'cluster'] as const)('%s key layout', (kind) => {
  it('a settle never shortens the state hash TTL a check left', async () => {
    const store = makeRedisStore(kind);
    const clock = manualClock();
    const limiter = createRateLimiter({ plans, store, clock, logger: false, topConsumers: false });
    const id = 'creator:ttl';
    const r = await limiter.reserve(id, { plan: 'pro', cost: 40 });
    const c = client(kind);
    const k = store.keys(id);
    const left = await c.pttl(k.state);
    clock.advance(10);
    await limiter.settle(r.reservation!, { cost: 30 });
    // the check renewed it to 1.25 state TTLs; the settle (10 ms later, well within it) keeps that
    expect(await c.pttl(k.state)).toBeGreaterThan(left - 1000);
    await limiter.close();
  });
  it('puts a TTL on every key it writes, and every key of an identifier in one slot', async () => {
    const store = makeRedisStore(kind);
    const limiter = createRateLimiter({ plans, store });
    const id = 'creator:{7}%';
    const r = await limiter.reserve(id, { plan: 'pro', cost: 40 });
    await limiter.check(id, { plan: 'pro', cost: 2 });
    for (let i = 0; i < 3; i++) await limiter.check(id, { plan: 'pro' }); // the burst bucket (3 per 10 s) denies the last two
    const k = store.keys(id);
    const keys = [k.state, k.reservations, k.log('minute'), k.denials];
    const c = client(kind);
    for (const key of keys) {
      expect(await c.exists(key), key).toBe(1);
      const ttl = await c.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
    }
    // a log's TTL is renewed only when it would end within a window: at most two windows
    expect(await c.pttl(k.log('minute'))).toBeLessThanOrEqual(120_000);
    // the state hash's TTL is renewed only when it would end within the state TTL: to 1.25 times it
    expect(await c.pttl(k.state)).toBeLessThanOrEqual(1.25 * 31 * 86_400_000);
    if (kind === 'cluster') {
      const slots = await Promise.all(keys.map((key) => (c as Cluster).nodes('master')[0]!.call('CLUSTER', 'KEYSLOT', key)));
      expect(new Set(slots).size).toBe(1);
    }
    // a list: one entry per charge, oldest first (a checked entry of cost 1 is its time in 6
    // bytes), then the header: the sum of the costs and the newest time (14 bytes), then the
    // cache, the oldest entries moved out of the body: here the reserved one, its time word
    // flagged and its cost and reservation id following (22 bytes)
    const entries = await c.lrangeBuffer(k.log('minute'), 0, -1);
    expect(entries.map((e) => e.length)).toEqual([6, 6, 14 + 22]);
    const head = entries[2]!;
    expect(head.readDoubleBE(0)).toBe(3);
    expect(head.readUIntBE(14, 6)).toBeGreaterThanOrEqual(2 ** 47 + 2 ** 46);
    expect(head.readDoubleBE(20)).toBe(1);
    expect(head.readDoubleBE(28)).toBe(Number(r.reservation!.id));
    const at = entries[0]!.readUIntBE(0, 6);
    expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
    expect(entries[1]!.readUIntBE(0, 6)).toBeGreaterThanOrEqual(at);
    expect(head.readUIntBE(8, 6)).toBe(entries[1]!.readUIntBE(0, 6));
    await limiter.settle(r.reservation!, { cost: 10 });
  });

  it('uses the Redis clock by default', async () => {
    const limiter = createRateLimiter({ plans, store: makeRedisStore(kind) });
    const before = Date.now();
    const r = await limiter.check('clock', { plan: 'pro' });
    expect(Math.abs(r.now - before)).toBeLessThan(2000);
    expect(r.limits[0]!.resetAt).toBe(r.now + 60_000);
  });
});

describe('checks started together', () => {
  /** The functions each FCALL sent through `c` named, in order. */
  function recordCalls(c: RedisClient) {
    const calls: string[] = [];
    const call = c.call.bind(c) as (...args: unknown[]) => Promise<unknown>;
    (c as unknown as { call: unknown }).call = (...args: unknown[]) => {
      if (args[0] === 'FCALL') calls.push(String(args[1]).replace(/^airl_[0-9a-f]+_/, ''));
      return call(...args);
    };
    return calls;
  }
  const log = { pro: { limits: [{ name: 'minute', limit: 5, window: '1 m' }] } } satisfies PlansConfig;

  it.each([
    [undefined, ['checks']],
    [4, ['checks', 'checks', 'checks']],
    [1, Array<string>(10).fill('check')],
  ] as const)('batch %s: ten checks of one tick go as %j, and answer as one after the other', async (batch, expected) => {
    const c = new Redis(inject('redisUrl'));
    try {
      const store = createRedisStore({ client: c, prefix: prefix(), ...(batch && { batch }) });
      const limiter = createRateLimiter({ plans: log, store, controls: false, topConsumers: false, denyCache: false });
      await limiter.peek('warm-up', { plan: 'pro' }); // loads the library when missing
      const calls = recordCalls(c);
      const results = await Promise.all(Array.from({ length: 10 }, () => limiter.check('together', { plan: 'pro' })));
      expect(calls).toEqual(expected);
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false, false, false, false]);
      expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0, 0, 0]);
      // a lone check goes alone
      calls.length = 0;
      await limiter.check('alone', { plan: 'pro' });
      expect(calls).toEqual(['check']);
      await limiter.close();
    } finally {
      c.disconnect();
    }
  });

  it.each([0, 1.5, 1001, Number.NaN])('rejects batch: %s', (batch) => {
    expect(() => createRedisStore({ client: () => client('redis'), batch })).toThrow(RateLimitConfigError);
    expect(() => createRedisStore({ client: () => client('redis'), batch })).toThrow(/batch: .* must be a whole number of checks from 1 \(no batching\) to 1000/);
  });
});

describe('plans by id', () => {
  const plans = { pro: { limits: [{ name: 'minute', limit: 3, window: '1 m' }, { name: 'hour', limit: 10, window: '1 h', algorithm: 'sliding-window' }] } } satisfies PlansConfig;

  it('sends a plan by its id, and its definition again when the library answers that it does not know it', async () => {
    const server = await startServer();
    const c = new Redis(server.port, server.host);
    try {
      const sent: string[] = [];
      const call = c.call.bind(c) as (...args: unknown[]) => Promise<unknown>;
      (c as unknown as { call: unknown }).call = (...args: unknown[]) => {
        if (args[0] === 'FCALL') sent.push((args as string[]).find((a) => /^[\w-]{16}(:|$)/.test(String(a)))!.includes(':') ? 'definition' : 'id');
        return call(...args);
      };
      const limiter = createRateLimiter({ plans, store: createRedisStore({ client: c, prefix: prefix() }), controls: false, topConsumers: false, denyCache: false });
      // a plan the store has not seen answered goes with its definition (here: function not found, load, again)
      expect((await limiter.check('x', { plan: 'pro' })).remaining).toBe(2);
      expect(sent).toEqual(['definition', 'definition']);
      sent.length = 0;
      expect((await limiter.check('x', { plan: 'pro' })).remaining).toBe(1);
      expect(sent).toEqual(['id']);
      // reloaded (a restart, a failover, a deploy): it forgets its plans, and learns them again
      await c.call('FUNCTION', 'LOAD', 'REPLACE', scripts.library.source);
      sent.length = 0;
      const together = await Promise.all([limiter.check('x', { plan: 'pro' }), limiter.check('y', { plan: 'pro' })]);
      expect(together.map((r) => r.remaining)).toEqual([0, 2]);
      expect(sent).toEqual(['id', 'definition']);
      await limiter.close();
    } finally {
      c.disconnect();
      await server.stop();
    }
  });

  it('does not send a check again with its definition once its deadline has passed: its caller was answered', async () => {
    const server = await startServer();
    const c = new Redis(server.port, server.host);
    try {
      let fcalls = 0;
      let slow = false;
      const call = c.call.bind(c) as (...args: unknown[]) => Promise<unknown>;
      (c as unknown as { call: unknown }).call = async (...args: unknown[]) => {
        if (args[0] !== 'FCALL') return call(...args);
        fcalls++;
        const reply = await call(...args);
        // the reply ("plan unknown") arrives after the store's timeout
        if (slow) await new Promise((r) => setTimeout(r, 1500));
        return reply;
      };
      const store = createRedisStore({ client: c, prefix: prefix(), timeout: '1 s' });
      const limiter = createRateLimiter({ plans, store, controls: false, topConsumers: false, denyCache: false, logger: false });
      expect((await limiter.check('late', { plan: 'pro' })).remaining).toBe(2);
      await c.call('FUNCTION', 'LOAD', 'REPLACE', scripts.library.source);
      slow = true;
      fcalls = 0;
      await limiter.check('late', { plan: 'pro' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1000));
      expect(fcalls).toBe(1);
      slow = false;
      // nothing was charged by a retry: the next check finds what the first one left
      expect((await limiter.check('late', { plan: 'pro' })).remaining).toBe(1);
      await limiter.close();
    } finally {
      c.disconnect();
      await server.stop();
    }
  });

  it('sends definitions with every check on the EVAL path, which keeps nothing between calls', async () => {
    const store = createRedisStore({ client: client('redis'), prefix: prefix(), scripts: 'eval' });
    const limiter = createRateLimiter({ plans, store, controls: false, topConsumers: false, denyCache: false });
    const remaining = [];
    for (let i = 0; i < 4; i++) remaining.push((await limiter.check('e', { plan: 'pro' })).remaining);
    expect(remaining).toEqual([2, 1, 0, 0]);
    expect(store.scripts).toBe('eval');
    await limiter.close();
  });
});

describe('identifier encoding', () => {
  it('keeps every identifier inside its hash tag and distinct from every other', () => {
    const ids = ['a}b', 'a%7Db', '{', '}', '%', '%25', '%7B', 'plain'];
    const encoded = ids.map(encodeIdentifier);
    expect(new Set(encoded).size).toBe(ids.length);
    for (const e of encoded) expect(e).not.toMatch(/[{}]/);
  });
});

describe('generated Lua', () => {
  it('src/lua/scripts.generated.ts is up to date with src/lua/*.lua', () => {
    const file = readFileSync(fileURLToPath(new URL('../src/lua/scripts.generated.ts', import.meta.url)), 'utf8');
    expect(file).toBe(renderScripts());
  });
});
