// Shared budgets (src/shared.ts) on every store: the provider's budget charged with the creator's
// plan, all or nothing, with a fair share per creator; denials name the budget and charge nothing.
import { initTRPC, TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';

import { createMemoryStore, createRateLimiter, RateLimitConfigError, type RateLimitEvent, type RateLimitResult, type Store } from '../src/index';
import { rateLimited, rateLimitErrorData, type RateLimitMeta } from '../src/trpc';
import { createRedisStore } from '../src/redis';
import { createPlanEditor, createRateLimitAdmin } from '../src/admin';
import { client, makeStore, prefix, STORE_KINDS } from './fixtures/stores';

const PLANS = {
  starter: { limits: [{ name: 'per-minute', limit: 3, window: '1 m' }] },
  pro: { limits: [{ name: 'per-minute', limit: 100, window: '1 m' }, { name: 'tokens', limit: 100_000, window: '1 d', unit: 'tokens' }] },
} as const;
const SHARED = {
  provider: {
    limits: [
      { name: 'provider-requests', limit: 10, window: '1 m' },
      { name: 'provider-tokens', limit: 1000, window: '1 m', unit: 'tokens' },
    ],
    maxShare: 0.5,
  },
} as const;

const used = (r: RateLimitResult, name: string) => {
  const l = r.limits.find((x) => x.name === name)!;
  return l.limit - l.remaining;
};

describe('shared budget configuration', () => {
  it('refuses bad budgets with every problem named, at creation', () => {
    const bad = (shared: unknown) => () => createRateLimiter({ plans: PLANS, shared: shared as typeof SHARED, logger: false });
    expect(bad({ provider: { limits: [{ name: 'provider-requests', limit: 10, window: '1 m' }], maxShare: 1.5 } })).toThrow(/shared\.provider\.maxShare: must be <= 1/);
    expect(bad({ provider: { limits: [] } })).toThrow(/shared\.provider\.limits: a shared budget needs at least one limit/);
    expect(bad({ provider: { limits: [{ name: 'per-minute', limit: 10, window: '1 m' }] } })).toThrow(/also a plan's limit name/);
    expect(bad({ provider: { limits: [{ name: 'p', limit: 10, window: '1 m' }], plans: ['enterprise'] } })).toThrow(/unknown plan\(s\) enterprise/);
    expect(bad({ provider: { limits: [{ name: 'p', limit: 0, window: 'soon' }] } })).toThrow(RateLimitConfigError);
    try {
      bad({ provider: { limits: [{ name: 'p', limit: -1, window: '1 m' }] } })();
    } catch (error) {
      expect((error as RateLimitConfigError).issues).toEqual(['shared.provider.limits[0].limit: must be > 0']);
    }
  });
});

describe.each(STORE_KINDS)('shared budget on %s', (kind) => {
  it('charges the budget with the plan, all or nothing, and names it when it denies', async () => {
    const limiter = createRateLimiter({ plans: PLANS, shared: SHARED, store: makeStore(kind), logger: false, topConsumers: false });
    // a starter creator is stopped by its own plan; its denial charges the budget nothing
    for (let i = 0; i < 3; i++) expect((await limiter.check('s1', { plan: 'starter' })).allowed).toBe(true);
    const own = await limiter.check('s1', { plan: 'starter' });
    expect(own).toMatchObject({ allowed: false, deniedBy: 'per-minute' });
    expect(own.sharedBudget).toBeUndefined();
    expect(used(await limiter.peek('s1', { plan: 'starter' }), 'provider-requests')).toBe(3);

    // a pro creator may take half of the budget, no more
    for (let i = 0; i < 5; i++) expect((await limiter.check('p1', { plan: 'pro' })).allowed).toBe(true);
    const share = await limiter.check('p1', { plan: 'pro' });
    expect(share).toMatchObject({ allowed: false, deniedBy: 'provider-requests-share', sharedBudget: 'provider' });
    expect(used(await limiter.peek('p1', { plan: 'pro' }), 'provider-requests')).toBe(8);

    // the budget itself runs out: the creator's own limits are not charged for the denied call
    expect((await limiter.check('p2', { plan: 'pro' })).allowed).toBe(true);
    expect((await limiter.check('p2', { plan: 'pro' })).allowed).toBe(true);
    const budget = await limiter.check('p2', { plan: 'pro' });
    expect(budget).toMatchObject({ allowed: false, deniedBy: 'provider-requests', sharedBudget: 'provider', plan: 'pro' });
    expect(budget.retryAfterMs).toBeGreaterThan(0);
    const p2 = await limiter.peek('p2', { plan: 'pro' });
    expect(used(p2, 'per-minute')).toBe(2);
    expect(used(p2, 'provider-requests')).toBe(10);
    expect(p2).toMatchObject({ allowed: false, sharedBudget: 'provider' });
    await limiter.close();
  });

  it('reserves, settles and refunds the budget in the same units as the plan', async () => {
    const limiter = createRateLimiter({ plans: PLANS, shared: SHARED, store: makeStore(kind), logger: false, topConsumers: false });
    const r = await limiter.reserve('p3', { plan: 'pro', cost: { tokens: 300 } });
    expect(r.allowed).toBe(true);
    let now = await limiter.peek('p3', { plan: 'pro' });
    expect([used(now, 'tokens'), used(now, 'provider-tokens'), used(now, 'provider-tokens-share'), used(now, 'provider-requests')]).toEqual([300, 300, 300, 1]);
    expect((await limiter.settle(r.reservation!, { cost: { tokens: 120 } })).status).toBe('settled');
    now = await limiter.peek('p3', { plan: 'pro' });
    expect([used(now, 'tokens'), used(now, 'provider-tokens'), used(now, 'provider-tokens-share')]).toEqual([120, 120, 120]);

    // more than the share (500 tokens): denied by the share, nothing charged anywhere
    const over = await limiter.reserve('p3', { plan: 'pro', cost: { tokens: 400 } });
    expect(over).toMatchObject({ allowed: false, deniedBy: 'provider-tokens-share', sharedBudget: 'provider', reservation: undefined });
    now = await limiter.peek('p3', { plan: 'pro' });
    expect([used(now, 'tokens'), used(now, 'provider-tokens'), used(now, 'provider-requests')]).toEqual([120, 120, 1]);

    const again = await limiter.reserve('p3', { plan: 'pro', cost: { tokens: 200 } });
    expect((await limiter.refund(again.reservation!)).status).toBe('settled');
    now = await limiter.peek('p3', { plan: 'pro' });
    expect([used(now, 'tokens'), used(now, 'provider-tokens'), used(now, 'provider-requests')]).toEqual([120, 120, 1]);
    await limiter.close();
  });
});

describe.each(STORE_KINDS)('a full shared budget and the creator on %s', (kind) => {
  it("answers calls it cannot fit without reaching the creator: no creator round trip, nothing in the creator's anomaly counters", async () => {
    const events: RateLimitEvent[] = [];
    const limiter = createRateLimiter({
      plans: { p: { limits: [{ name: 'hourly', limit: 100, window: '1 h' }, { name: 'tokens', limit: 100_000, window: '1 h', unit: 'tokens' }] } },
      shared: { provider: { limits: [{ name: 'provider-tokens', limit: 25, window: '1 m', unit: 'tokens' }] } },
      // a burst is more than 3 calls in 5 minutes
      anomalies: { burst: { threshold: 3 }, denialStorm: false, costSpike: false },
      store: makeStore(kind),
      logger: false,
      topConsumers: false,
      onEvent: (e) => events.push(e),
    });
    expect((await limiter.check('c1', { plan: 'p', cost: { tokens: 10 } })).allowed).toBe(true);
    expect((await limiter.check('c1', { plan: 'p', cost: { tokens: 11 } })).allowed).toBe(true);
    // the budget's first denial goes through the creator's step (reserved, then given back)
    expect(await limiter.check('c1', { plan: 'p', cost: { tokens: 12 } })).toMatchObject({ allowed: false, deniedBy: 'provider-tokens', sharedBudget: 'provider' });
    const decisions = events.filter((e) => e.type === 'decision').length;
    // one decision event per call (the budget's own are not reported twice)
    expect(decisions).toBe(3);
    // larger calls, whatever their exact cost, are known not to fit until the retry time
    for (const tokens of [12, 13, 20, 25]) {
      const denied = await limiter.check('c1', { plan: 'p', cost: { tokens } });
      expect(denied).toMatchObject({ allowed: false, deniedBy: 'provider-tokens', sharedBudget: 'provider' });
      expect(denied.retryAfterMs).toBeGreaterThan(0);
    }
    expect(events.filter((e) => e.type === 'decision').length).toBe(decisions);
    // 3 calls reached the creator's counters: no burst
    expect(events.filter((e) => e.type === 'anomaly')).toEqual([]);
    // a smaller call that fits is still let through
    expect((await limiter.check('c1', { plan: 'p', cost: { tokens: 4 } })).allowed).toBe(true);
    const own = await limiter.peek('c1', { plan: 'p', cost: { tokens: 1 } });
    expect(used(own, 'hourly')).toBe(3);
    expect(used(own, 'tokens')).toBe(25);
    await limiter.close();
  });
});

describe.each(STORE_KINDS)('the shared budget in the admin API on %s', (kind) => {
  it('shows each budget used / limit, the sizes in force after a live change, charging nothing', async () => {
    const store = makeStore(kind);
    const limiter = createRateLimiter({ plans: PLANS, shared: SHARED, store, livePlans: true, logger: false, topConsumers: false });
    const admin = createRateLimitAdmin(limiter);
    const editor = createPlanEditor(limiter);
    const view = async () => {
      const [budget] = await admin.sharedBudgets();
      return { name: budget!.name, maxShare: budget!.maxShare, limits: budget!.limits.map((l) => [l.name, l.used, l.limit]) };
    };
    expect(await view()).toEqual({ name: 'provider', maxShare: 0.5, limits: [['provider-requests', 0, 10], ['provider-tokens', 0, 1000]] });
    await limiter.check('p1', { plan: 'pro', cost: { tokens: 120 } });
    await limiter.check('p2', { plan: 'pro', cost: { tokens: 30 } });
    // reading twice charges nothing
    expect(await view()).toEqual(await view());
    expect((await view()).limits).toEqual([['provider-requests', 2, 10], ['provider-tokens', 150, 1000]]);
    await editor.update({ actor: 'alice', sizes: { shared: { provider: { limits: { 'provider-requests': 3 }, maxShare: 0.9 } } } });
    expect(await view()).toEqual({ name: 'provider', maxShare: 0.9, limits: [['provider-requests', 2, 3], ['provider-tokens', 150, 1000]] });
    expect((await limiter.check('p1', { plan: 'pro' })).allowed).toBe(true);
    expect(await limiter.check('p2', { plan: 'pro' })).toMatchObject({ allowed: false, deniedBy: 'provider-requests', sharedBudget: 'provider' });
    expect((await view()).limits[0]).toEqual(['provider-requests', 3, 3]);
    await limiter.close();
  });

  it('shows what a budget recorded past its limit (a call settled above it)', async () => {
    const limiter = createRateLimiter({ plans: PLANS, shared: SHARED, store: makeStore(kind), logger: false, topConsumers: false });
    const admin = createRateLimitAdmin(limiter);
    const r = await limiter.reserve('p1', { plan: 'pro', cost: { tokens: 100 } });
    await limiter.settle(r.reservation!, { cost: { tokens: 1800 } });
    const [budget] = await admin.sharedBudgets();
    expect(budget!.limits.map((l) => [l.name, l.used, l.limit, l.remaining])).toEqual([
      ['provider-requests', 1, 10, 9],
      ['provider-tokens', 1800, 1000, 0],
    ]);
    await limiter.close();
  });

  it('has no budgets to show for a limiter without them', async () => {
    const limiter = createRateLimiter({ plans: PLANS, store: makeStore(kind), logger: false });
    expect(await createRateLimitAdmin(limiter).sharedBudgets()).toEqual([]);
    await limiter.close();
  });
});

describe('rateLimited() and a shared budget', () => {
  it('tells the creator a platform-wide limit denied, not their plan', async () => {
    const limiter = createRateLimiter({ plans: PLANS, shared: SHARED, store: makeStore('redis'), logger: false, topConsumers: false });
    const t = initTRPC.context<{ creatorId: string }>().meta<RateLimitMeta>().create();
    const limit = rateLimited<{ creatorId: string }, 'starter' | 'pro'>({ limiter, plan: () => 'pro', group: 'ai' });
    const router = t.router({ ask: t.procedure.use(limit).mutation(() => 'ok') });
    const call = (creatorId: string) => t.createCallerFactory(router)({ creatorId }).ask();
    for (const id of ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b']) await call(id);
    const error = await call('c').then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe('TOO_MANY_REQUESTS');
    expect((error as TRPCError).message).toMatch(/^The platform-wide limit 'provider-requests' is reached \(shared by every creator; not a limit of your plan\): try again in/);
    expect(rateLimitErrorData(error)).toMatchObject({ deniedBy: 'provider-requests', sharedBudget: 'provider', unit: 'requests' });
    // the denied creator was charged nothing
    expect(used(await limiter.peek('c', { plan: 'pro' }), 'per-minute')).toBe(0);
    await limiter.close();
  });
});

describe('closing a limiter with shared budgets', () => {
  it('resolves after the settles a check left running in the background', async () => {
    const memory = createMemoryStore();
    const log: string[] = [];
    const store: Store = Object.assign(Object.create(Object.getPrototypeOf(memory) as object) as Store, memory, {
      settle: async (request: Parameters<Store['settle']>[0]) => {
        await new Promise((r) => setTimeout(r, 150));
        log.push('settled');
        return memory.settle(request);
      },
    });
    const limiter = createRateLimiter({ plans: PLANS, shared: SHARED, store, logger: false, topConsumers: false });
    expect((await limiter.check('c1', { plan: 'starter' })).allowed).toBe(true);
    await limiter.close();
    log.push('closed');
    expect(log.at(-1)).toBe('closed');
    expect(log.filter((l) => l === 'settled').length).toBeGreaterThan(0);
  });
});

describe('presence with shared budgets on redis', () => {
  it('one limiter with two budgets counts as one instance, and leaves on close', async () => {
    const p = prefix();
    const redis = client('redis');
    const limiter = createRateLimiter({
      plans: PLANS,
      shared: { ...SHARED, other: { limits: [{ name: 'other-requests', limit: 100, window: '1 m' }] } },
      store: createRedisStore({ client: redis, prefix: p, timeout: '5 s' }),
      logger: false,
      topConsumers: false,
    });
    expect((await limiter.check('c1', { plan: 'pro' })).allowed).toBe(true);
    // the heartbeats start with the first call and run in the background
    let members: string[] = [];
    for (let i = 0; i < 50 && members.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      members = await redis.zrange(`${p}:presence`, '0', '-1');
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await redis.zrange(`${p}:presence`, '0', '-1')).toHaveLength(1);
    await limiter.close();
    expect(await redis.zcard(`${p}:presence`)).toBe(0);
  });
});
