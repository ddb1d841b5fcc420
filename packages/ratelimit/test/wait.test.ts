// Waiting instead of failing (src/wait.ts), against real Redis and the local cluster: calls whose
// retry time fits within their `wait` are admitted in arrival order within it, cost no store call
// while they wait, and a cancelled wait charges nothing. Real time: a 2-per-second limit.
import { initTRPC, TRPCError } from '@trpc/server';
import { describe, expect, it } from 'vitest';

import { createRateLimiter, RateLimitInputError, type RateLimitResult, RateLimitWaitAbortedError, type Store } from '../src/index';
import { rateLimited, type RateLimitMeta } from '../src/trpc';
import { makeRedisStore } from './fixtures/stores';

const PLANS = { starter: { limits: [{ name: 'per-second', limit: 2, window: '1 s' }] } } as const;

/** The store, counting its `evaluate` calls (every check, reserve and peek is one). */
function counted(store: Store) {
  const counter = { evaluations: 0 };
  const proxy = new Proxy(store, {
    get(target, key, receiver) {
      if (key === 'evaluate') {
        return (...args: Parameters<Store['evaluate']>) => {
          counter.evaluations++;
          return target.evaluate(...args);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: proxy, counter };
}

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe.each(['redis', 'cluster'] as const)('wait on %s', (kind) => {
  it('admits waiting calls in arrival order, within their deadline, asking the store only at retry times', async () => {
    const { store, counter } = counted(makeRedisStore(kind));
    const limiter = createRateLimiter({ plans: PLANS, store, logger: false, topConsumers: false });
    const id = 'creator-wait';
    expect((await limiter.check(id, { plan: 'starter' })).allowed).toBe(true);
    expect((await limiter.check(id, { plan: 'starter' })).allowed).toBe(true);
    counter.evaluations = 0;

    const started = performance.now();
    const order: string[] = [];
    const calls = ['a', 'b', 'c'].map((name) =>
      limiter.check(id, { plan: 'starter', wait: '3 s' }).then((r) => {
        order.push(name);
        return { name, result: r, at: performance.now() - started };
      }),
    );
    // too short to wait for the next free slot (about 1 s away): denied at once, as without `wait`
    const short = await limiter.check(id, { plan: 'starter', wait: '200 ms' });
    expect(short.allowed).toBe(false);
    expect(performance.now() - started).toBeLessThan(900);

    const done = await Promise.all(calls);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(done.every((d) => d.result.allowed)).toBe(true);
    // a and b fit when the first two charges leave the window (after ~1 s), c when a's does (~2 s)
    expect(done[0]!.at).toBeGreaterThanOrEqual(900);
    expect(done[2]!.at).toBeGreaterThanOrEqual(1800);
    expect(done[2]!.at).toBeLessThan(3000);
    // 3 first tries + the short call + one try per retry time (a, b, c, and c once more; a retry
    // may come a few ms early, the store's clock and this process's timers differing), not a poll
    expect(counter.evaluations).toBeLessThanOrEqual(10);
    // c fitted only when a's charge left the window: never more than 2 in one second
    expect(done[2]!.at - done[0]!.at).toBeGreaterThanOrEqual(900);
    await limiter.close();
  });

  it('a cancelled wait rejects with a typed error at once and charges nothing', async () => {
    const limiter = createRateLimiter({ plans: PLANS, store: makeRedisStore(kind), logger: false, topConsumers: false });
    const id = 'creator-cancel';
    await limiter.check(id, { plan: 'starter' });
    await limiter.check(id, { plan: 'starter' });
    const head = new AbortController();
    const behind = new AbortController();
    const first = limiter.reserve(id, { plan: 'starter', wait: '5 s', signal: head.signal });
    const second = limiter.check(id, { plan: 'starter', wait: '5 s', signal: behind.signal });
    const third = limiter.check(id, { plan: 'starter', wait: '5 s' });
    await new Promise((r) => setTimeout(r, 150));
    const t0 = performance.now();
    behind.abort();
    head.abort();
    const [e1, e2] = await Promise.all([rejection(first), rejection(second)]);
    expect(performance.now() - t0).toBeLessThan(200);
    for (const e of [e1, e2]) {
      expect(e).toBeInstanceOf(RateLimitWaitAbortedError);
      expect((e as RateLimitWaitAbortedError).code).toBe('WAIT_ABORTED');
    }
    // the one left waiting takes the next free slot; the cancelled ones took none
    expect((await third).allowed).toBe(true);
    // the first two charges have left the window by now, the third's has not
    await new Promise((r) => setTimeout(r, 150));
    const after = await limiter.peek(id, { plan: 'starter' });
    expect(after.remaining).toBe(1);
    // an already aborted signal, and a bad wait, are refused before anything is asked
    await expect(limiter.check(id, { plan: 'starter', wait: '1 s', signal: AbortSignal.abort() })).rejects.toBeInstanceOf(RateLimitWaitAbortedError);
    await expect(limiter.check(id, { plan: 'starter', wait: 'soon' as '1 s' })).rejects.toBeInstanceOf(RateLimitInputError);
    expect((await limiter.peek(id, { plan: 'starter' })).remaining).toBe(1);
    await limiter.close();
  });
});

describe('rateLimited() with wait', () => {
  const t = initTRPC.context<{ creatorId: string }>().meta<RateLimitMeta>().create();

  it('waits for room instead of TOO_MANY_REQUESTS, and a cancelled request fails with CLIENT_CLOSED_REQUEST', async () => {
    const limiter = createRateLimiter({ plans: PLANS, store: makeRedisStore('redis'), logger: false, topConsumers: false });
    const limit = rateLimited<{ creatorId: string }, 'starter'>({ limiter, plan: () => 'starter', wait: '2 s' });
    const router = t.router({ ask: t.procedure.use(limit).mutation(({ ctx }) => ctx.rateLimit.remaining) });
    const caller = t.createCallerFactory(router)({ creatorId: 'trpc-wait' });
    // room comes back a window (1 s) after the first call was admitted, however long the first
    // two calls took on a loaded machine: measured from before the first
    const started = performance.now();
    await caller.ask();
    await caller.ask();
    expect(await caller.ask()).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);

    // another creator, full, so that the next call waits
    await limiter.check('trpc-cancel', { plan: 'starter' });
    await limiter.check('trpc-cancel', { plan: 'starter' });
    const controller = new AbortController();
    const cancelled = t.createCallerFactory(router)({ creatorId: 'trpc-cancel' }, { signal: controller.signal }).ask();
    setTimeout(() => controller.abort(), 100);
    const error = await rejection(cancelled);
    expect(error).toBeInstanceOf(TRPCError);
    expect((error as TRPCError).code).toBe('CLIENT_CLOSED_REQUEST');
    expect((error as TRPCError).cause).toBeInstanceOf(RateLimitWaitAbortedError);
    const left: RateLimitResult = await limiter.peek('trpc-cancel', { plan: 'starter' });
    expect(left.remaining).toBe(0);
    await limiter.close();
  });
});

describe('closing a limiter with waiting calls', () => {
  it.each([false, true])('rejects every waiting call at once, charging nothing (shared budgets: %s)', async (shared) => {
    const store = makeRedisStore('redis');
    const { store: watched, counter } = counted(store);
    const options = { plans: PLANS, store: watched, logger: false, topConsumers: false, denyCache: false } as const;
    const limiter = createRateLimiter(shared ? { ...options, shared: { provider: { limits: [{ name: 'provider-requests', limit: 100, window: '1 m' }] } } } : options);
    for (let i = 0; i < 2; i++) expect((await limiter.check('c1', { plan: 'starter' })).allowed).toBe(true);
    const waiting = [0, 1, 2].map(() => limiter.check('c1', { plan: 'starter', wait: '5 s' }).then(() => 'answered', (e: unknown) => e));
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    await limiter.close();
    const outcomes = await Promise.all(waiting);
    expect(performance.now() - started).toBeLessThan(500);
    for (const o of outcomes) expect(o).toBeInstanceOf(RateLimitWaitAbortedError);
    // only the two admissions charged, and no store call after the close
    const calls = counter.evaluations;
    const after = createRateLimiter({ ...options, store });
    expect((await after.peek('c1', { plan: 'starter' })).limits[0]).toMatchObject({ remaining: 0 });
    await after.close();
    await new Promise((r) => setTimeout(r, 1100));
    expect(counter.evaluations).toBe(calls);
  });
});
