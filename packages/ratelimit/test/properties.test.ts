// The limiter's laws, as properties over random traffic, on every store. The oracle is a naive
// event list, independent of the model the stores share.
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { createRateLimiter, type PlansConfig } from '../src/index';
import { closing, makeStore, manualClock, STORE_KINDS } from './fixtures/stores';

const W = 10 * 60_000;
const plans = {
  small: { limits: [{ name: 'w', limit: 5, window: W }] },
  big: { limits: [{ name: 'w', limit: 12, window: W }] },
  weighted: {
    limits: [
      { name: 'calls', limit: 8, window: W },
      { name: 'tokens', limit: 100, window: 2 * W, unit: 'tokens' },
    ],
  },
} satisfies PlansConfig;
type Plan = keyof typeof plans;

const step = fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: 90_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * W }) });
const call = fc.record({ dt: step, cost: fc.integer({ min: 1, max: 40 }), id: fc.constantFrom('a', 'b') });

describe.each(STORE_KINDS)('%s store', (kind) => {
  const limiterFor = () => {
    const clock = manualClock();
    return { clock, limiter: closing(createRateLimiter({ plans, store: makeStore(kind), clock })) };
  };

  it.prop([fc.array(call, { maxLength: 60, size: 'max' }), fc.constantFrom<Plan>('small', 'big')], { numRuns: 60 })(
    'never allows more than the limit in any window, and identifiers are independent',
    async (calls, plan) => {
      const { clock, limiter } = limiterFor();
      const limit = plans[plan].limits[0]!.limit;
      const allowed: Record<string, number[]> = { a: [], b: [] };
      for (const c of calls) {
        clock.advance(c.dt);
        const r = await limiter.check(c.id, { plan });
        const inWindow = allowed[c.id]!.filter((t) => t > clock() - W).length;
        // the oracle: allowed exactly when fewer than `limit` calls in the last window
        expect(r.allowed).toBe(inWindow < limit);
        if (r.allowed) allowed[c.id]!.push(clock());
        expect(r.remaining).toBe(Math.max(0, limit - inWindow - (r.allowed ? 1 : 0)));
      }
    },
  );

  it.prop([fc.array(call, { maxLength: 50, size: 'max' }), fc.array(fc.nat({ max: 4 }), { maxLength: 50 })], { numRuns: 40 })(
    'denied calls cost nothing: extra denied calls change no later answer',
    async (calls, extras) => {
      const plain = limiterFor();
      const noisy = limiterFor();
      for (const [i, c] of calls.entries()) {
        plain.clock.advance(c.dt);
        noisy.clock.advance(c.dt);
        const a = await plain.limiter.check(c.id, { plan: 'weighted', cost: c.cost });
        const b = await noisy.limiter.check(c.id, { plan: 'weighted', cost: c.cost });
        expect(b).toEqual(a);
        if (!b.allowed) {
          // hammer the denied identifier: every retry is denied and must leave no trace
          for (let k = 0; k < (extras[i] ?? 0); k++) expect((await noisy.limiter.check(c.id, { plan: 'weighted', cost: c.cost })).allowed).toBe(false);
        }
      }
    },
  );

  it.prop([fc.array(call, { minLength: 1, maxLength: 40, size: 'max' })], { numRuns: 40 })('reset restores the full quota', async (calls) => {
    const { clock, limiter } = limiterFor();
    for (const c of calls) {
      clock.advance(c.dt);
      await limiter.check('a', { plan: 'weighted', cost: c.cost });
    }
    await limiter.reset('a');
    const r = await limiter.peek('a', { plan: 'weighted' });
    expect(r.limits.map((l) => l.remaining)).toEqual([8, 100]);
    expect(r.limits.every((l) => l.resetAt === clock())).toBe(true);
  });

  it.prop([fc.array(call, { minLength: 1, maxLength: 40, size: 'max' }), fc.integer({ min: 1, max: 40 })], { numRuns: 40 })(
    'retryAfterMs is exact: denied 1 ms before it, allowed at it',
    async (calls, cost) => {
      const { clock, limiter } = limiterFor();
      for (const c of calls) {
        clock.advance(c.dt);
        await limiter.check('a', { plan: 'weighted', cost: c.cost });
      }
      const r = await limiter.peek('a', { plan: 'weighted', cost });
      if (r.allowed) {
        expect(r.retryAfterMs).toBe(0);
        return;
      }
      expect(r.retryAfterMs).toBeGreaterThan(0);
      expect(r.resetAt).toBe(clock() + r.retryAfterMs);
      clock.advance(r.retryAfterMs - 1);
      expect((await limiter.peek('a', { plan: 'weighted', cost })).allowed).toBe(false);
      clock.advance(1);
      expect((await limiter.check('a', { plan: 'weighted', cost })).allowed).toBe(true);
    },
  );

  it.prop([fc.array(call, { maxLength: 40, size: 'max' })], { numRuns: 40 })('a multi-limit check charges all its limits or none', async (calls) => {
    const { clock, limiter } = limiterFor();
    let calls8 = 0;
    let tokens = 0;
    const log: { t: number; cost: number }[] = [];
    for (const c of calls) {
      clock.advance(c.dt);
      const before = await limiter.peek('a', { plan: 'weighted' });
      const r = await limiter.check('a', { plan: 'weighted', cost: c.cost });
      const after = await limiter.peek('a', { plan: 'weighted' });
      if (r.allowed) log.push({ t: clock(), cost: c.cost });
      calls8 = log.filter((e) => e.t > clock() - W).length;
      tokens = log.filter((e) => e.t > clock() - 2 * W).reduce((s, e) => s + e.cost, 0);
      expect(after.limits.map((l) => l.remaining)).toEqual([Math.max(0, 8 - calls8), Math.max(0, 100 - tokens)]);
      if (!r.allowed) expect(after.limits.map((l) => l.remaining)).toEqual(before.limits.map((l) => l.remaining));
    }
  });

  it.prop([fc.array(call, { maxLength: 40, size: 'max' }), fc.array(fc.constantFrom<Plan>('small', 'big'), { minLength: 40, maxLength: 40 })], { numRuns: 40 })(
    'a plan change keeps usage: every plan sees the same calls',
    async (calls, planSeq) => {
      const { clock, limiter } = limiterFor();
      const allowed: number[] = [];
      for (const [i, c] of calls.entries()) {
        clock.advance(c.dt);
        const plan = planSeq[i]!;
        const r = await limiter.check('a', { plan });
        expect(r.allowed).toBe(allowed.filter((t) => t > clock() - W).length < plans[plan].limits[0]!.limit);
        if (r.allowed) allowed.push(clock());
      }
    },
  );
});
