// The admin API on every store: what an admin sees of a creator, top consumers, and actions that
// take effect at once on every app instance (two limiters with their own connections here).
import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { createRateLimitAdmin } from '../src/admin';
import { createMemoryStore, createRateLimiter, type PlansConfig, RateLimitInputError, type Store } from '../src/index';
import { createRedisStore, type NodeRedisClient } from '../src/redis';
import { GLIDE_KINDS, type GlideKind, makeGlideClient, NODE_REDIS_KINDS, type NodeRedisKind, prefix, STORE_KINDS, type StoreKind, TIMEOUT } from './fixtures/stores';

const plans = {
  starter: { limits: [{ name: 'hourly', limit: 3, window: '1 h' }] },
  pro: {
    limits: [
      { name: 'hourly', limit: 10, window: '1 h' },
      { name: 'tokens', limit: 1000, window: '1 d', unit: 'tokens', algorithm: 'sliding-window' },
    ],
  },
  // one limit of each algorithm, all in tokens: a settle past them is recorded by each
  over: {
    limits: [
      { name: 'log', limit: 100, window: '1 h', unit: 'tokens' },
      { name: 'counter', limit: 100, window: '1 d', unit: 'tokens', algorithm: 'sliding-window' },
      { name: 'bucket', limit: 100, window: '1 h', unit: 'tokens', algorithm: 'token-bucket' },
      { name: 'fixed', limit: 100, window: '1 h', unit: 'tokens', algorithm: 'fixed-window' },
      { name: 'month', limit: 100, window: 'month', unit: 'tokens', algorithm: 'fixed-window' },
    ],
  },
} satisfies PlansConfig;

const opened: { close(): Promise<unknown> }[] = [];
afterAll(async () => {
  for (const c of opened.reverse()) await c.close();
});

/** Two app instances sharing one store (Redis: each with its own connections, as in production). */
function instances(kind: StoreKind | NodeRedisKind | GlideKind) {
  const p = prefix();
  const storeFor = (): Store => {
    if (kind === 'memory') return shared;
    if (kind === 'glide' || kind === 'glide-cluster') {
      // made by the store on first use (GLIDE's adapter, with its subscriber client), and closed by it
      const store = createRedisStore({ client: () => makeGlideClient(kind), prefix: p, timeout: TIMEOUT });
      opened.push({ close: () => store.close() });
      return store;
    }
    if (kind === 'node-redis' || kind === 'node-redis-cluster') {
      const nodes = inject('clusterNodes').map((n) => ({ url: `redis://${n.host}:${n.port}` }));
      const made = (): NodeRedisClient => (kind === 'node-redis' ? createClient({ url: inject('redisUrl') }) : createCluster({ rootNodes: nodes }));
      // made by the store on first use, and closed by it
      const store = createRedisStore({ client: made, prefix: p, timeout: TIMEOUT });
      opened.push({ close: () => store.close() });
      return store;
    }
    const client = kind === 'redis' ? new Redis(inject('redisUrl')) : new Cluster(inject('clusterNodes'));
    const store = createRedisStore({ client, prefix: p, timeout: TIMEOUT });
    opened.push({ close: () => store.close?.().then(() => client.quit()) ?? client.quit() });
    return store;
  };
  const shared = createMemoryStore();
  const make = () => {
    const limiter = createRateLimiter({ plans, store: storeFor(), topConsumers: { flushInterval: '50 ms' }, logger: false });
    opened.push(limiter);
    return limiter;
  };
  const a = make();
  const b = make();
  return { a, b, admin: createRateLimitAdmin(a) };
}

/** Polls until `read` returns what `ok` accepts: announcements travel through pub/sub. */
async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// and Redis through node-redis and GLIDE: controls and announcements over their pub/sub
describe.each([...STORE_KINDS, ...NODE_REDIS_KINDS, ...GLIDE_KINDS])('%s store', (kind) => {
  it('shows a creator: plan, usage per limit, reservations, recent denials', async () => {
    const { a, admin } = instances(kind);
    await a.check('c1', { plan: 'pro', cost: 100 });
    const r = await a.reserve('c1', { plan: 'pro', cost: 300 });
    await a.check('c1', { plan: 'pro', cost: 700 }); // denied by tokens
    const view = await admin.inspect('c1', { plan: 'pro' });
    expect(view).toMatchObject({ identifier: 'c1', basePlan: 'pro', plan: 'pro', planSource: 'default', block: undefined });
    expect(view.limits.map((l) => [l.name, l.used, l.remaining])).toEqual([
      ['hourly', 2, 8],
      ['tokens', 400, 600],
    ]);
    expect(view.reservations).toEqual([{ id: r.reservation!.id, expiresAt: r.reservation!.expiresAt, parts: [{ limit: 'hourly', cost: 1 }, { limit: 'tokens', cost: 300 }] }]);
    expect(view.denials).toHaveLength(1);
    expect(view.denials[0]!.limit).toBe('tokens');
  });

  it('shows what is recorded past a limit (a settle above it), on every algorithm, while remaining stops at 0', async () => {
    const { a, admin } = instances(kind);
    const r = await a.reserve('c10', { plan: 'over', cost: 10 });
    expect((await a.settle(r.reservation!, { cost: 250 })).status).toBe('settled');
    const view = await admin.inspect('c10', { plan: 'over' });
    expect(view.limits.map((l) => [l.name, l.used, l.remaining])).toEqual([
      ['log', 250, 0],
      ['counter', 250, 0],
      ['bucket', 250, 0],
      ['fixed', 250, 0],
      ['month', 250, 0],
    ]);
    // reading it charged nothing
    expect((await admin.inspect('c10', { plan: 'over' })).limits.map((l) => l.used)).toEqual([250, 250, 250, 250, 250]);
  });

  it('resets a list of limits in one step with one audit entry, and leaves the others', async () => {
    const { a, b, admin } = instances(kind);
    const r = await a.reserve('c11', { plan: 'over', cost: 10 });
    await a.settle(r.reservation!, { cost: 120 });
    expect((await b.check('c11', { plan: 'over', cost: 1 })).allowed).toBe(false); // now cached on b
    await admin.reset('c11', { actor: 'erin', limit: ['log', 'counter', 'log'], reason: 'ticket 11' });
    const view = await admin.inspect('c11', { plan: 'over' });
    expect(view.limits.map((l) => [l.name, l.used])).toEqual([
      ['log', 0],
      ['counter', 0],
      ['bucket', 120],
      ['fixed', 120],
      ['month', 120],
    ]);
    const log = await admin.audit({ identifier: 'c11' });
    expect(log.map((e) => [e.actor, e.action, e.details])).toEqual([['erin', 'reset', { limit: 'log, counter', reason: 'ticket 11' }]]);
  });

  it('a plan override applies at once on every instance, and lifts', async () => {
    const { a, b, admin } = instances(kind);
    for (let i = 0; i < 3; i++) await b.check('c2', { plan: 'starter' });
    expect((await b.check('c2', { plan: 'starter' })).allowed).toBe(false);
    await admin.overridePlan('c2', { actor: 'alice', plan: 'pro', for: '1 h', reason: 'support ticket 42' });
    const upgraded = await eventually(() => b.check('c2', { plan: 'starter' }), (r) => r.allowed);
    expect(upgraded).toMatchObject({ allowed: true, plan: 'pro' });
    expect(await admin.inspect('c2', { plan: 'starter' })).toMatchObject({ plan: 'pro', planSource: 'override' });
    await admin.lift('c2', { actor: 'alice' });
    const back = await eventually(() => a.peek('c2', { plan: 'starter' }), (r) => r.plan === 'starter');
    expect(back).toMatchObject({ plan: 'starter', allowed: false });
  });

  it('a block denies every call on every instance until lifted', async () => {
    const { b, admin } = instances(kind);
    await admin.block('c3', { actor: 'bob', for: '10 m', reason: 'abuse' });
    const blocked = await eventually(() => b.check('c3', { plan: 'pro' }), (r) => !r.allowed);
    expect(blocked).toMatchObject({ allowed: false, deniedBy: 'blocked' });
    expect(blocked.retryAfterMs).toBeGreaterThan(9 * 60_000);
    expect((await admin.inspect('c3', { plan: 'pro' })).block).toMatchObject({ reason: 'abuse', by: 'bob' });
    await admin.lift('c3', { actor: 'bob', what: 'block' });
    expect((await eventually(() => b.check('c3', { plan: 'pro' }), (r) => r.allowed)).allowed).toBe(true);
  });

  it('a reset takes effect at once on an instance that had cached the denial', async () => {
    const { a, b, admin } = instances(kind);
    for (let i = 0; i < 3; i++) await b.check('c4', { plan: 'starter' });
    expect((await b.check('c4', { plan: 'starter' })).allowed).toBe(false); // now cached on b
    await admin.reset('c4', { actor: 'carol' });
    expect((await eventually(() => b.check('c4', { plan: 'starter' }), (r) => r.allowed)).allowed).toBe(true);
    expect((await a.peek('c4', { plan: 'starter' })).remaining).toBe(2);
  });

  it('lists top consumers of the hour and the day, by unit', async () => {
    const { a, b, admin } = instances(kind);
    for (let i = 0; i < 5; i++) await a.check('heavy', { plan: 'pro', cost: 50 });
    await b.check('heavy', { plan: 'pro', cost: 10 });
    await a.check('light', { plan: 'pro', cost: 5 });
    // each instance flushes its own counts, and each board is written on its own (on a cluster,
    // possibly on another node): wait until every board has every count
    const top = await eventually(
      () => admin.topConsumers({ period: 'hour', unit: 'tokens', count: 5 }),
      (t) => t.some((e) => e.identifier === 'heavy' && e.amount === 260) && t.some((e) => e.identifier === 'light'),
    );
    expect(top.slice(0, 2)).toEqual([
      { identifier: 'heavy', amount: 260 },
      { identifier: 'light', amount: 5 },
    ]);
    const calls = await eventually(
      () => admin.topConsumers({ period: 'day', count: 1 }),
      (t) => t[0]?.amount === 6,
    );
    expect(calls).toEqual([{ identifier: 'heavy', amount: 6 }]);
  });

  it('keeps an override and a block apart: each its own author, reason and end', async () => {
    const { admin } = instances(kind);
    await admin.overridePlan('c7', { actor: 'alice', plan: 'pro', for: '2 h', reason: 'ticket 7' });
    await admin.block('c7', { actor: 'bob', for: '1 h', reason: 'abuse' });
    const view = await admin.inspect('c7', { plan: 'starter' });
    expect(view.override).toMatchObject({ plan: 'pro', by: 'alice', reason: 'ticket 7' });
    expect(view.block).toMatchObject({ by: 'bob', reason: 'abuse' });
    expect(view.override!.until - view.block!.until).toBeGreaterThan(59 * 60_000);
    expect(await admin.controls()).toEqual([{ identifier: 'c7', override: view.override, block: view.block }]);
    await admin.lift('c7', { actor: 'carol', what: 'block' });
    expect(await admin.inspect('c7', { plan: 'starter' })).toMatchObject({ plan: 'pro', block: undefined, override: { by: 'alice' } });
    await admin.lift('c7', { actor: 'carol' });
    expect(await admin.controls()).toEqual([]);
    // a creator's own audit history, newest first, none of another's
    await admin.reset('c8', { actor: 'dana' });
    expect((await admin.audit({ identifier: 'c7' })).map((e) => [e.actor, e.action])).toEqual([
      ['carol', 'lift'],
      ['carol', 'lift'],
      ['bob', 'block'],
      ['alice', 'override'],
    ]);
  });

  it('keeps an audit log of every action, newest first', async () => {
    const { admin } = instances(kind);
    await admin.block('c5', { actor: 'dana', for: '1 h', reason: 'spam' });
    await admin.overridePlan('c5', { actor: 'dana', plan: 'pro', for: '2 h' });
    await admin.reset('c5', { actor: 'erin', limit: 'hourly' });
    await admin.lift('c5', { actor: 'erin' });
    const log = await admin.audit({ count: 10 });
    expect(log.map((e) => [e.actor, e.action, e.identifier])).toEqual([
      ['erin', 'lift', 'c5'],
      ['erin', 'reset', 'c5'],
      ['dana', 'override', 'c5'],
      ['dana', 'block', 'c5'],
    ]);
    expect(log[1]!.details).toEqual({ limit: 'hourly' });
    expect(log[3]!.details).toMatchObject({ reason: 'spam', until: expect.any(Number) as number });
  });

  it('refuses bad admin input with a typed error and changes nothing', async () => {
    const { admin } = instances(kind);
    const bad = [
      () => admin.block('c6', { actor: '', for: '1 h' }),
      () => admin.block('c6', { actor: 'x', for: '90 d' }),
      () => admin.block('c6', { actor: 'x', for: 'soon' as never }),
      () => admin.overridePlan('c6', { actor: 'x', plan: 'gold', for: '1 h' }),
      () => admin.inspect('', { plan: 'pro' }),
      () => admin.topConsumers({ period: 'week' as never }),
      () => admin.reset('c6', { actor: 'x', limit: [] }),
      () => admin.reset('c6', { actor: 'x', limit: ['hourly', 'nope'] }),
    ];
    for (const call of bad) await expect(call()).rejects.toBeInstanceOf(RateLimitInputError);
    expect(await admin.audit()).toEqual([]);
    expect(await admin.inspect('c6', { plan: 'pro' })).toMatchObject({ override: undefined, block: undefined });
  });
});
