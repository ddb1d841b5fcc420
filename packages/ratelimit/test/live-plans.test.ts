// Plans changed live (src/live-plans.ts): an admin's new sizes, validated and audited, reach every
// instance at once through the store's announcements, keep usage, and restoring the defaults
// brings the code's plans back. Two app instances and an admin's, each with its own store object
// on one key prefix (memory: one store shared, as in one process).
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it, vi } from 'vitest';

import { createPlanEditor, createRateLimitAdmin } from '../src/admin';
import { createMemoryStore, createRateLimiter, RateLimitConfigError, type Store } from '../src/index';
import { createLambdaStore } from '../src/lambda';
import { createRedisStore } from '../src/redis';
import { client, closing, GLIDE_KINDS, type GlideKind, glideClient, NODE_REDIS_KINDS, type NodeRedisKind, nodeRedisClient, prefix as newPrefix, STORE_KINDS, type StoreKind } from './fixtures/stores';

const PLANS = {
  starter: { limits: [{ name: 'per-minute', limit: 3, window: '1 m' }] },
  pro: { limits: [{ name: 'per-minute', limit: 10, window: '1 m' }] },
} as const;
const SHARED = { provider: { limits: [{ name: 'provider-requests', limit: 100, window: '1 m' }], maxShare: 0.5 } } as const;

function stores(kind: StoreKind | NodeRedisKind | GlideKind, count: number): Store[] {
  if (kind === 'memory') {
    const store = createMemoryStore();
    return Array.from({ length: count }, () => store);
  }
  const p = newPrefix();
  // node-redis: the documents go through the store's client interface, not ioredis methods
  const c = kind === 'node-redis' || kind === 'node-redis-cluster' ? nodeRedisClient(kind) : kind === 'glide' || kind === 'glide-cluster' ? glideClient(kind) : client(kind);
  return Array.from({ length: count }, () => createRedisStore({ client: c, prefix: p, timeout: '20 s' }));
}

/** Polls (bounded) until `read` gives `want`: announcements arrive a moment after the write. */
async function eventually<T>(read: () => Promise<T>, want: T): Promise<T> {
  let got = await read();
  for (let i = 0; i < 100 && JSON.stringify(got) !== JSON.stringify(want); i++) {
    await new Promise((r) => setTimeout(r, 20));
    got = await read();
  }
  return got;
}

describe.each([...STORE_KINDS, ...NODE_REDIS_KINDS, ...GLIDE_KINDS])('live plans on %s', (kind) => {
  it('an admin changes a plan: every instance applies it on its next call, usage kept, audited, and restorable', async () => {
    const [a, b, admin, later] = stores(kind, 4);
    const options = { plans: PLANS, shared: SHARED, livePlans: true, logger: false, topConsumers: false } as const;
    const web1 = closing(createRateLimiter({ ...options, store: a! }));
    const web2 = closing(createRateLimiter({ ...options, store: b! }));
    const adminLimiter = closing(createRateLimiter({ ...options, store: admin! }));
    const editor = createPlanEditor(adminLimiter);
    for (let i = 0; i < 3; i++) expect((await web1.check('c1', { plan: 'starter' })).allowed).toBe(true);
    expect((await web2.check('c1', { plan: 'starter' })).allowed).toBe(false);

    const stored = await editor.update({ actor: 'alice', sizes: { plans: { starter: { 'per-minute': 5 } }, shared: { provider: { maxShare: 0.2 } } }, reason: 'launch week' });
    expect(stored).toMatchObject({ by: 'alice', reason: 'launch week' });
    // felt by both instances on their next call; the 3 used are kept
    const remaining = () => web2.peek('c1', { plan: 'starter' }).then((r) => r.limits.map((l) => [l.name, l.limit, l.remaining]));
    expect(await eventually(remaining, [['per-minute', 5, 2], ['provider-requests-share', 20, 17], ['provider-requests', 100, 97]])).toEqual([
      ['per-minute', 5, 2],
      ['provider-requests-share', 20, 17],
      ['provider-requests', 100, 97],
    ]);
    expect(await eventually(() => web1.check('c1', { plan: 'starter' }).then((r) => r.allowed), true)).toBe(true);
    expect(web1.plans.get('starter')!.limits[0]!.limit).toBe(5);
    // the admin views follow too
    const view = await createRateLimitAdmin(adminLimiter).inspect('c1', { plan: 'starter' });
    expect(view.limits.find((l) => l.name === 'per-minute')).toMatchObject({ limit: 5, used: 4 });
    const [entry] = await createRateLimitAdmin(adminLimiter).audit({ count: 1 });
    expect(entry).toMatchObject({ actor: 'alice', action: 'plans', identifier: '~plans' });
    expect(JSON.parse(String(entry!.details.sizes))).toEqual({ plans: { starter: { 'per-minute': 5 } }, shared: { provider: { maxShare: 0.2 } } });

    // a new instance applies the stored sizes from its first call
    const web3 = closing(createRateLimiter({ ...options, store: later! }));
    expect((await web3.peek('c1', { plan: 'starter' })).limits[0]).toMatchObject({ limit: 5, remaining: 1 });

    // invalid sizes: a typed error naming each problem, nothing stored
    const bad = await editor.update({ actor: 'alice', sizes: { plans: { starter: { 'per-minute': 0, daily: 9 }, gold: { x: 1 } } } }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RateLimitConfigError);
    expect((bad as RateLimitConfigError).issues.join('\n')).toMatch(/plans\.starter\.per-minute: must be > 0/);
    await expect(editor.update({ actor: 'alice', sizes: { plans: { gold: { 'per-minute': 1 } } } })).rejects.toThrow(/plans\.gold: no such plan; the plans are: starter, pro/);
    await expect(editor.update({ actor: 'alice', sizes: { plans: { starter: { daily: 1 } } } })).rejects.toThrow(/has no such limit; its limits are: per-minute/);
    await expect(editor.update({ actor: '', sizes: {} })).rejects.toThrow(/actor/);
    expect((await editor.current())?.sizes).toEqual(stored.sizes);

    // back to the code's plans, on every instance; usage still kept
    await editor.restoreDefaults({ actor: 'bob' });
    expect(await editor.current()).toBeUndefined();
    // each instance hears the announcement on its own: wait for both (a loaded cluster delivered it to web2 first)
    for (const web of [web2, web1]) {
      expect(await eventually(() => web.peek('c1', { plan: 'starter' }).then((r) => [r.limits[0]!.limit, r.limits[0]!.remaining]), [3, 0])).toEqual([3, 0]);
    }
    expect((await web1.check('c1', { plan: 'starter' })).allowed).toBe(false);
    expect((await createRateLimitAdmin(adminLimiter).audit({ count: 1 }))[0]).toMatchObject({ actor: 'bob', action: 'restore-plans' });
    await Promise.all([web1.close(), web2.close(), web3.close(), adminLimiter.close()]);
  });
});

it('a store that cannot keep documents (Lambda) refuses livePlans at creation, naming the stores that can', () => {
  const lambda = createLambdaStore({ functionName: 'f', client: {} as never });
  expect('readDocument' in lambda).toBe(false);
  expect(() => createRateLimiter({ plans: PLANS, store: lambda, livePlans: true, logger: false })).toThrow(RateLimitConfigError);
  expect(() => createRateLimiter({ plans: PLANS, store: lambda, livePlans: true, logger: false })).toThrow(/cannot keep live plans; use the memory or Redis store/);
});

describe.each(STORE_KINDS)('live plans against a model on %s', (kind) => {
  // random checks, size changes, restores and time steps on one instance: every answer is the
  // model's, where a call fits when what the creator used in the last minute plus one is within
  // the size in force at that moment (usage kept across changes)
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('check' as const), creator: fc.integer({ min: 0, max: 1 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('size' as const), size: fc.integer({ min: 1, max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('restore' as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 30_000 }) }) },
  );
  prop.prop([fc.array(op, { minLength: 1, maxLength: 30 })], { numRuns: 25 })('same answers as the model', async (ops) => {
    let now = 1_750_000_000_000;
    const [store] = stores(kind, 1);
    const limiter = createRateLimiter({ plans: PLANS, store: store!, clock: () => now, livePlans: true, logger: false, topConsumers: false, denyCache: false });
    const editor = createPlanEditor(limiter);
    const log: number[][] = [[], []];
    let size: number = PLANS.starter.limits[0].limit;
    const got: unknown[] = [];
    const want: unknown[] = [];
    for (const o of ops) {
      if (o.op === 'advance') now += o.ms;
      else if (o.op === 'size') {
        await editor.update({ actor: 'model', sizes: { plans: { starter: { 'per-minute': o.size } } } });
        size = o.size;
      } else if (o.op === 'restore') {
        await editor.restoreDefaults({ actor: 'model' });
        size = PLANS.starter.limits[0].limit;
      } else {
        const used = log[o.creator]!.filter((at) => at > now - 60_000).length;
        const fits = used + 1 <= size;
        if (fits) log[o.creator]!.push(now);
        const r = await limiter.check(`m${o.creator}`, { plan: 'starter' });
        got.push([o.creator, r.allowed, r.limits[0]!.limit]);
        want.push([o.creator, fits, size]);
      }
    }
    await limiter.close();
    expect(got).toEqual(want);
  });
});

describe.each(STORE_KINDS)('live plans and a shared budget against a model on %s', (kind) => {
  // the same, with the provider's budget (no fair share) resized live too: a call fits when the
  // creator's last minute plus one is within its plan's size in force and everyone's last minute
  // plus one is within the budget's size in force
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('check' as const), creator: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('size' as const), plan: fc.integer({ min: 1, max: 4 }), budget: fc.integer({ min: 1, max: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('restore' as const) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 30_000 }) }) },
  );
  const BUDGET = 5;
  const shared = { provider: { limits: [{ name: 'provider-requests', limit: BUDGET, window: '1 m' }] } } as const;
  // always run: a creator over its own limit while this instance knows the budget full
  const overBoth = [{ op: 'size', plan: 1, budget: 1 }, { op: 'check', creator: 2 }, { op: 'check', creator: 0 }, { op: 'check', creator: 2 }] as const;
  prop.prop([fc.array(op, { minLength: 1, maxLength: 30 })], { numRuns: 15, examples: [[[...overBoth]]] })('same answers as the model', async (ops) => {
    let now = 1_750_000_000_000;
    const [store] = stores(kind, 1);
    const limiter = createRateLimiter({ plans: PLANS, shared, store: store!, clock: () => now, livePlans: true, logger: false, topConsumers: false, denyCache: false });
    const editor = createPlanEditor(limiter);
    const log: number[][] = [[], [], []];
    let size: number = PLANS.starter.limits[0].limit;
    let budget = BUDGET;
    const got: unknown[] = [];
    const want: unknown[] = [];
    const inWindow = (entries: number[]) => entries.filter((at) => at > now - 60_000).length;
    for (const o of ops) {
      if (o.op === 'advance') now += o.ms;
      else if (o.op === 'size') {
        await editor.update({ actor: 'model', sizes: { plans: { starter: { 'per-minute': o.plan } }, shared: { provider: { limits: { 'provider-requests': o.budget } } } } });
        [size, budget] = [o.plan, o.budget];
      } else if (o.op === 'restore') {
        await editor.restoreDefaults({ actor: 'model' });
        [size, budget] = [PLANS.starter.limits[0].limit, BUDGET];
      } else {
        const own = inWindow(log[o.creator]!) + 1 <= size;
        const room = inWindow(log.flat()) + 1 <= budget;
        const fits = own && room;
        if (fits) log[o.creator]!.push(now);
        const r = await limiter.check(`m${o.creator}`, { plan: 'starter' });
        got.push([o.creator, r.allowed, r.allowed ? undefined : (r.sharedBudget ?? 'own')]);
        // over both: the creator's limit answers, or the budget when this instance knows it full
        // (src/shared.ts answers a known-full budget without asking the creator's limits)
        const either: unknown = expect.stringMatching(/^(own|provider)$/);
        const reason = fits ? undefined : own ? 'provider' : room ? 'own' : either;
        want.push([o.creator, fits, reason]);
      }
    }
    await limiter.close();
    expect(got).toEqual(want);
  });
});

describe('live plans while the store cannot be read', () => {
  it('only the first call waits for a load; later calls use the plans in force while the timer retries', async () => {
    const memory = createMemoryStore();
    let reads = 0;
    // a store whose documents time out: each read fails after 300 ms
    const store: Store = Object.assign(Object.create(Object.getPrototypeOf(memory) as object) as Store, memory, {
      readDocument: async () => {
        reads++;
        await new Promise((r) => setTimeout(r, 300));
        throw new Error('timed out');
      },
    });
    const limiter = closing(createRateLimiter({ plans: PLANS, store, livePlans: { refresh: '100 ms' }, logger: false, topConsumers: false }));
    let started = performance.now();
    expect((await limiter.check('c1', { plan: 'starter' })).limits[0]!.limit).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    for (let i = 0; i < 3; i++) {
      started = performance.now();
      expect((await limiter.check('c1', { plan: 'starter' })).limits[0]!.limit).toBe(3);
      expect(performance.now() - started).toBeLessThan(150);
    }
    // retried in the background on the refresh timer
    const before = reads;
    await new Promise((r) => setTimeout(r, 450));
    expect(reads).toBeGreaterThan(before);
    await limiter.close();
  });
});

describe('live plans reloaded concurrently', () => {
  it('a slow read of an old document does not land after a newer one', async () => {
    const memory = createMemoryStore();
    const read = memory.readDocument.bind(memory);
    let delays = [300, 0];
    // the first read is slow (it sees the old document), the second fast (the new one)
    const store: Store = Object.assign(Object.create(Object.getPrototypeOf(memory) as object) as Store, memory, {
      readDocument: async (name: string) => {
        const json = await read(name);
        await new Promise((r) => setTimeout(r, delays.shift() ?? 0));
        return json;
      },
    });
    const limiter = closing(createRateLimiter({ plans: PLANS, store, livePlans: { refresh: '1 h' }, logger: false, topConsumers: false }));
    delays = [];
    await limiter.check('c1', { plan: 'starter' });
    const write = memory.writeDocument.bind(memory);
    await write('~plans', JSON.stringify({ sizes: { plans: { starter: { 'per-minute': 5 } } }, by: 'a', at: 1 }));
    // two reloads (as from two announcements): the first reads 5 and is slow, the second reads 7
    delays = [300, 0];
    const handle = (limiter as unknown as Record<symbol, { refresh(): Promise<void> }>)[Object.getOwnPropertySymbols(limiter).find((s) => s.description === 'live plans')!]!;
    const first = handle.refresh();
    await new Promise((r) => setTimeout(r, 20));
    await write('~plans', JSON.stringify({ sizes: { plans: { starter: { 'per-minute': 7 } } }, by: 'a', at: 2 }));
    const second = handle.refresh();
    await Promise.all([first, second]);
    expect((await limiter.peek('c1', { plan: 'starter' })).limits[0]!.limit).toBe(7);
  });
});

describe('closing a limiter with live plans', () => {
  it('resolves after the limiters retired by a change have closed', async () => {
    const memory = createMemoryStore();
    const log: string[] = [];
    // leaving the presence record takes a while: the retired limiter's close waits for it
    const store: Store = Object.assign(Object.create(Object.getPrototypeOf(memory) as object) as Store, memory, {
      heartbeat: () => Promise.resolve({ instances: 1, now: Date.now(), at: Date.now() }),
      leave: async () => {
        await new Promise((r) => setTimeout(r, 200));
        log.push('left');
      },
    });
    const limiter = createRateLimiter({ plans: PLANS, store, livePlans: true, logger: false, topConsumers: false });
    await limiter.check('c1', { plan: 'starter' });
    await createPlanEditor(limiter).update({ actor: 'alice', sizes: { plans: { starter: { 'per-minute': 5 } } } });
    await limiter.close();
    log.push('closed');
    expect(log).toEqual(['left', 'closed']);
  });
});

describe('live plans without a store', () => {
  it('closes the memory store it made', async () => {
    const limiter = createRateLimiter({ plans: PLANS, livePlans: true, logger: false, topConsumers: false });
    await limiter.check('c1', { plan: 'starter' });
    const closed = vi.spyOn(limiter.store, 'close');
    await limiter.close();
    expect(closed).toHaveBeenCalledTimes(1);
  });
});
