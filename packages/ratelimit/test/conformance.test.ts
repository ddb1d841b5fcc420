// One suite, every store: memory, Redis, Redis Cluster (through ioredis, node-redis and Valkey GLIDE), Lambda. Time is a manual clock.
import { describe, expect, it } from 'vitest';

import { createRateLimiter, DEFAULT_PLANS, RateLimitInputError, type PlansConfig } from '../src/index';
import { makeLambdaStore } from './fixtures/lambda';
import { closing, GLIDE_KINDS, type GlideKind, makeStore as makeAnyStore, manualClock, NODE_REDIS_KINDS, type NodeRedisKind, STORE_KINDS, type StoreKind } from './fixtures/stores';

// the Lambda store runs the same suite: SDK -> local Invoke endpoint -> handler -> Redis
const makeStore = (kind: StoreKind | NodeRedisKind | GlideKind | 'lambda') => (kind === 'lambda' ? makeLambdaStore() : makeAnyStore(kind));

const MIN = 60_000;
const HOUR = 3_600_000;

const multi = {
  free: { limits: [{ name: 'per-minute', limit: 3, window: '1 m' }] },
  pro: {
    limits: [
      { name: 'per-minute', limit: 10, window: '1 m' },
      { name: 'per-day', limit: 200, window: '1 d' },
      { name: 'tokens', limit: 50_000, window: '1 d', unit: 'tokens' },
    ],
  },
} satisfies PlansConfig;

// and the Redis stores again through node-redis and GLIDE, standalone and cluster
describe.each([...STORE_KINDS, ...NODE_REDIS_KINDS, ...GLIDE_KINDS, 'lambda' as const])('%s store', (kind) => {
  const setup = <P extends string>(plans?: Record<P, PlansConfig[string]>) => {
    const clock = manualClock();
    const limiter = closing(createRateLimiter<P>({ ...(plans && { plans }), store: makeStore(kind), clock }));
    return { clock, limiter };
  };

  it.each((['starter', 'pro', 'business'] as const).map((plan) => [plan, DEFAULT_PLANS[plan].limits[0].limit] as const))(
    'allows exactly the %s limit (%i) per hour, then denies',
    async (plan, limit) => {
      const { limiter } = setup();
      for (let i = 0; i < limit; i++) {
        const r = await limiter.check('creator-1', { plan });
        expect(r.allowed).toBe(true);
        expect(r.remaining).toBe(limit - i - 1);
      }
      const denied = await limiter.check('creator-1', { plan });
      expect(denied).toMatchObject({ allowed: false, remaining: 0, limit, deniedBy: 'hourly', retryAfterMs: HOUR });
      expect((await limiter.check('creator-2', { plan })).allowed).toBe(true);
    },
  );

  it('gives capacity back exactly when the oldest entry leaves the window, and says so', async () => {
    const { clock, limiter } = setup({ p: { limits: [{ name: 'm', limit: 2, window: '1 m' }] } });
    await limiter.check('a', { plan: 'p' });
    clock.advance(10_000);
    await limiter.check('a', { plan: 'p' });
    clock.advance(5_000);
    const denied = await limiter.check('a', { plan: 'p' });
    expect(denied.retryAfterMs).toBe(MIN - 15_000);
    expect(denied.resetAt).toBe(clock() + MIN - 15_000);
    clock.advance(denied.retryAfterMs - 1);
    expect((await limiter.check('a', { plan: 'p' })).allowed).toBe(false);
    clock.advance(1);
    const allowed = await limiter.check('a', { plan: 'p' });
    expect(allowed.allowed).toBe(true);
    // the next unit returns when the second entry leaves
    expect(allowed.resetAt).toBe(clock() + 10_000);
  });

  it('does not count denied calls: a client retrying in a loop is not locked out', async () => {
    const { clock, limiter } = setup({ p: { limits: [{ name: 'm', limit: 2, window: '1 m' }] } });
    await limiter.check('a', { plan: 'p' });
    await limiter.check('a', { plan: 'p' });
    for (let i = 0; i < 50; i++) {
      clock.advance(1000);
      expect((await limiter.check('a', { plan: 'p' })).allowed).toBe(false);
    }
    clock.set(clock() + MIN - 50_000);
    expect((await limiter.check('a', { plan: 'p' })).allowed).toBe(true);
  });

  it('checks every limit of a plan and charges none unless all have room', async () => {
    const { limiter } = setup(multi);
    expect((await limiter.check('c', { plan: 'pro', cost: 49_990 })).allowed).toBe(true);
    const denied = await limiter.check('c', { plan: 'pro', cost: 20 });
    expect(denied.allowed).toBe(false);
    expect(denied.deniedBy).toBe('tokens');
    const byName = Object.fromEntries(denied.limits.map((l) => [l.name, l]));
    expect(byName['per-minute']).toMatchObject({ allowed: true, remaining: 9, retryAfterMs: 0 });
    expect(byName['per-day']).toMatchObject({ allowed: true, remaining: 199 });
    expect(byName.tokens).toMatchObject({ allowed: false, remaining: 10 });
    const after = await limiter.peek('c', { plan: 'pro' });
    expect(after.limits.map((l) => l.remaining)).toEqual([9, 199, 10]);
  });

  it('keeps usage when the plan changes: the new limits apply to what was used', async () => {
    const { limiter } = setup(multi);
    for (let i = 0; i < 3; i++) await limiter.check('c', { plan: 'free' });
    expect((await limiter.check('c', { plan: 'free' })).allowed).toBe(false);
    const upgraded = await limiter.check('c', { plan: 'pro' });
    expect(upgraded.allowed).toBe(true);
    expect(upgraded.limits[0]).toMatchObject({ name: 'per-minute', remaining: 6 });
    // and back down: 4 used of 3
    expect(await limiter.peek('c', { plan: 'free' })).toMatchObject({ allowed: false, remaining: 0 });
  });

  it('peek charges nothing and tells whether a call would pass', async () => {
    const { limiter } = setup({ p: { limits: [{ name: 'm', limit: 1, window: '1 m' }] } });
    for (let i = 0; i < 3; i++) expect(await limiter.peek('a', { plan: 'p' })).toMatchObject({ allowed: true, remaining: 1 });
    await limiter.check('a', { plan: 'p' });
    expect(await limiter.peek('a', { plan: 'p' })).toMatchObject({ allowed: false, remaining: 0 });
  });

  it('reset forgets one limit, or everything', async () => {
    const { limiter } = setup(multi);
    await limiter.check('c', { plan: 'pro', cost: 1000 });
    await limiter.reset('c', { limit: 'tokens' });
    expect((await limiter.peek('c', { plan: 'pro' })).limits.map((l) => l.remaining)).toEqual([9, 199, 50_000]);
    await limiter.reset('c');
    expect((await limiter.peek('c', { plan: 'pro' })).limits.map((l) => l.remaining)).toEqual([10, 200, 50_000]);
  });

  it('counts every call made within the same millisecond', async () => {
    const { limiter } = setup({ p: { limits: [{ name: 'm', limit: 100, window: '1 m' }] } });
    const results = await Promise.all(Array.from({ length: 120 }, () => limiter.check('same-ms', { plan: 'p' })));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
  });

  it('keeps identifiers apart, whatever characters they hold', async () => {
    const { limiter } = setup({ p: { limits: [{ name: 'm', limit: 1, window: '1 m' }] } });
    const ids = ['a}b', 'a%7Db', 'a{b', 'a%7Bb', '{a}', '%', '%25', 'a:b', 'a', 'é🙂', ' '];
    for (const id of ids) expect((await limiter.check(id, { plan: 'p' })).allowed).toBe(true);
    for (const id of ids) expect((await limiter.check(id, { plan: 'p' })).allowed).toBe(false);
  });

  describe('reserve and settle', () => {
    const plans = {
      pro: {
        limits: [
          { name: 'per-minute', limit: 10, window: '1 m' },
          { name: 'tokens', limit: 1000, window: '1 h', unit: 'tokens' },
        ],
      },
    } satisfies PlansConfig;

    it('charges the estimate, then the real cost, up or down', async () => {
      const { limiter } = setup(plans);
      const r = await limiter.reserve('c', { plan: 'pro', cost: 300 });
      expect(r.allowed).toBe(true);
      expect(r.limits.map((l) => l.remaining)).toEqual([9, 700]);
      expect(await limiter.settle(r.reservation!, { cost: 120 })).toEqual({ status: 'settled' });
      expect((await limiter.peek('c', { plan: 'pro' })).limits.map((l) => l.remaining)).toEqual([9, 880]);
      const r2 = await limiter.reserve('c', { plan: 'pro', cost: 100 });
      await limiter.settle(r2.reservation!, { cost: 1500 });
      expect(await limiter.peek('c', { plan: 'pro' })).toMatchObject({ allowed: false, deniedBy: 'tokens' });
    });

    it('refunds everything when the call failed, once', async () => {
      const { limiter } = setup(plans);
      const r = await limiter.reserve('c', { plan: 'pro', cost: 400 });
      expect(await limiter.refund(r.reservation!)).toEqual({ status: 'settled' });
      expect((await limiter.peek('c', { plan: 'pro' })).limits.map((l) => l.remaining)).toEqual([10, 1000]);
      expect(await limiter.refund(r.reservation!)).toEqual({ status: 'unknown' });
    });

    it('denied reservations charge nothing and return no reservation', async () => {
      const { limiter } = setup(plans);
      await limiter.check('c', { plan: 'pro', cost: 900 });
      const r = await limiter.reserve('c', { plan: 'pro', cost: 200 });
      expect(r.allowed).toBe(false);
      expect(r.reservation).toBeUndefined();
      expect((await limiter.peek('c', { plan: 'pro' })).limits.map((l) => l.remaining)).toEqual([9, 100]);
    });

    it('settling never loses another entry made in the same millisecond', async () => {
      const { limiter } = setup({ p: { limits: [{ name: 'tokens', limit: 100, window: '1 h', unit: 'tokens' }] } });
      const r = await limiter.reserve('c', { plan: 'p', cost: 4 });
      await limiter.check('c', { plan: 'p', cost: 3 });
      await limiter.settle(r.reservation!, { cost: 3 });
      expect((await limiter.peek('c', { plan: 'p' })).remaining).toBe(94);
      const r2 = await limiter.reserve('c', { plan: 'p', cost: 5 });
      await limiter.check('c', { plan: 'p' });
      await limiter.settle(r2.reservation!, { cost: 1 });
      expect((await limiter.peek('c', { plan: 'p' })).remaining).toBe(92);
    });

    it('a reservation whose limit was reset cannot touch entries made after the reset', async () => {
      const { limiter } = setup({ p: { limits: [{ name: 'calls', limit: 10, window: '1 h' }] } });
      const r = await limiter.reserve('c', { plan: 'p' });
      await limiter.reset('c', { limit: 'calls' });
      await limiter.check('c', { plan: 'p' });
      await limiter.refund(r.reservation!);
      expect((await limiter.peek('c', { plan: 'p' })).remaining).toBe(9);
    });

    it('a reservation made before a reset cannot settle one made after it', async () => {
      const { limiter } = setup(plans);
      const before = await limiter.reserve('c', { plan: 'pro', cost: 100 });
      await limiter.reset('c');
      const after = await limiter.reserve('c', { plan: 'pro', cost: 200 });
      expect(await limiter.settle(before.reservation!, { cost: 1 })).toEqual({ status: 'unknown' });
      expect(await limiter.settle(after.reservation!, { cost: 50 })).toEqual({ status: 'settled' });
      expect((await limiter.peek('c', { plan: 'pro' })).limits[1]!.remaining).toBe(950);
    });

    it('a reservation never settled expires by itself, keeping its estimate charged', async () => {
      const clock = manualClock();
      await using limiter = closing(createRateLimiter({ plans, store: makeStore(kind), clock, reservationTtl: '5 m' }));
      const r = await limiter.reserve('c', { plan: 'pro', cost: 300 });
      clock.advance(5 * MIN);
      expect(await limiter.settle(r.reservation!, { cost: 10 })).toEqual({ status: 'expired' });
      expect((await limiter.peek('c', { plan: 'pro' })).limits[1]!.remaining).toBe(700);
      clock.advance(HOUR);
      expect((await limiter.peek('c', { plan: 'pro' })).limits[1]!.remaining).toBe(1000);
    });
  });

  describe('bad input changes nothing', () => {
    const bad: [string, (l: ReturnType<typeof setup<'pro' | 'free'>>['limiter']) => Promise<unknown>, string][] = [
      ['unknown plan', (l) => l.check('c', { plan: 'gold' as 'pro' }), 'UNKNOWN_PLAN'],
      ['empty identifier', (l) => l.check('', { plan: 'pro' }), 'INVALID_IDENTIFIER'],
      ['huge identifier', (l) => l.check('x'.repeat(257), { plan: 'pro' }), 'INVALID_IDENTIFIER'],
      ['numeric identifier', (l) => l.check(42 as unknown as string, { plan: 'pro' }), 'INVALID_IDENTIFIER'],
      ['negative cost', (l) => l.check('c', { plan: 'pro', cost: -1 }), 'INVALID_COST'],
      ['zero cost', (l) => l.check('c', { plan: 'pro', cost: 0 }), 'INVALID_COST'],
      ['NaN cost', (l) => l.check('c', { plan: 'pro', cost: Number.NaN }), 'INVALID_COST'],
      ['fractional cost', (l) => l.check('c', { plan: 'pro', cost: 1.5 }), 'INVALID_COST'],
      ['unknown unit', (l) => l.check('c', { plan: 'pro', cost: { tokenz: 5 } }), 'INVALID_COST'],
      ['cost over the limit', (l) => l.check('c', { plan: 'pro', cost: 50_001 }), 'COST_OVER_LIMIT'],
      ['unknown limit to reset', (l) => l.reset('c', { limit: 'nope' }), 'UNKNOWN_LIMIT'],
      ['forged reservation', (l) => l.settle({} as never, { cost: 1 }), 'INVALID_RESERVATION'],
    ];
    it.each(bad)('%s: typed error, nothing written', async (_, call, code) => {
      const { limiter } = setup(multi);
      const error = await call(limiter).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitInputError);
      expect(error).toMatchObject({ code });
      expect((error as Error).message.length).toBeGreaterThan(20);
      expect((await limiter.peek('c', { plan: 'pro' })).limits.map((l) => l.remaining)).toEqual([10, 200, 50_000]);
    });
  });
});
