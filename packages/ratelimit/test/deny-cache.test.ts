// The local deny cache: a call denied until a known time costs no store call until then.
import { describe, expect, it } from 'vitest';

import { createRateLimiter, type PlansConfig, type Store } from '../src/index';
import { makeStore, manualClock, STORE_KINDS } from './fixtures/stores';

/** Counts the store's evaluations. */
function counting(store: Store) {
  const counter = { evaluations: 0 };
  const wrapped: Store = Object.assign(Object.create(store) as Store, {
    evaluate: (request: Parameters<Store['evaluate']>[0]) => {
      counter.evaluations++;
      return store.evaluate(request);
    },
  });
  return { store: wrapped, counter };
}

const plans = { p: { limits: [{ name: 'minute', limit: 2, window: '1 m' }] } } satisfies PlansConfig;

describe.each(STORE_KINDS)('%s store', (kind) => {
  it('answers repeated denials locally until the retry time, then asks the store again', async () => {
    const clock = manualClock();
    const { store, counter } = counting(makeStore(kind));
    const limiter = createRateLimiter({ plans, store, clock, logger: false });
    await limiter.check('a', { plan: 'p' });
    clock.advance(10_000);
    await limiter.check('a', { plan: 'p' });
    const first = await limiter.check('a', { plan: 'p' });
    expect(first).toMatchObject({ allowed: false, retryAfterMs: 50_000 });
    expect(counter.evaluations).toBe(3);
    for (let i = 0; i < 100; i++) {
      clock.advance(100);
      const again = await limiter.check('a', { plan: 'p' });
      expect(again).toMatchObject({ allowed: false, deniedBy: 'minute', retryAfterMs: 50_000 - (i + 1) * 100 });
    }
    expect(counter.evaluations).toBe(3);
    // a peek always reads the store; another identifier is not affected
    await limiter.peek('a', { plan: 'p' });
    expect((await limiter.check('b', { plan: 'p' })).allowed).toBe(true);
    expect(counter.evaluations).toBe(5);
    clock.advance(40_000);
    expect((await limiter.check('a', { plan: 'p' })).allowed).toBe(true);
    expect(counter.evaluations).toBe(6);
    await limiter.close();
  });

  it('is cleared by a reset, and never answers for a different cost', async () => {
    const clock = manualClock();
    const { store, counter } = counting(makeStore(kind));
    const limiter = createRateLimiter({ plans: { q: { limits: [{ name: 'tokens', limit: 10, window: '1 h', unit: 'tokens' }] } }, store, clock, logger: false });
    await limiter.check('c', { plan: 'q', cost: 8 });
    expect((await limiter.check('c', { plan: 'q', cost: 5 })).allowed).toBe(false);
    expect((await limiter.check('c', { plan: 'q', cost: 5 })).allowed).toBe(false);
    expect(counter.evaluations).toBe(2);
    expect((await limiter.check('c', { plan: 'q', cost: 2 })).allowed).toBe(true);
    expect(counter.evaluations).toBe(3);
    await limiter.reset('c');
    expect((await limiter.check('c', { plan: 'q', cost: 5 })).allowed).toBe(true);
    await limiter.close();
  });

  it('can be turned off', async () => {
    const { store, counter } = counting(makeStore(kind));
    const limiter = createRateLimiter({ plans, store, denyCache: false, logger: false });
    for (let i = 0; i < 5; i++) await limiter.check('d', { plan: 'p' });
    expect(counter.evaluations).toBe(5);
    await limiter.close();
  });
});
