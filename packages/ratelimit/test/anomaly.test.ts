// Anomaly detection against every store: normal traffic raises nothing; each injected pattern
// raises exactly its anomaly, once per episode; an automatic block lifts at its expiry.
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { createRateLimitAdmin } from '../src/admin';
import { makeLambdaStore } from './fixtures/lambda';
import { makeStore as makeAnyStore, STORE_KINDS, type StoreKind } from './fixtures/stores';
import { ordinaryHours, useUp, watched } from './fixtures/anomaly';
import { HOUR_MS, MINUTE_MS } from '../src/time';

// the Lambda store runs the same suite: SDK -> local Invoke endpoint -> handler -> Redis
const makeStore = (kind: StoreKind | 'lambda') => (kind === 'lambda' ? makeLambdaStore() : makeAnyStore(kind));

const MIN = MINUTE_MS;
const HOUR = HOUR_MS;

// the legacy plan (50 per sliding hour) plus a token budget, with the default rules:
// burst > 2 x 50 calls in 5 min, denial storm > 30 denials in 1 min, cost spike > 5 x normal hour
describe.each([...STORE_KINDS, 'lambda' as const])('%s store', (kind) => {
  const setup = (options: { block?: boolean; denyCache?: boolean } = {}) => {
    const w = watched(makeStore(kind), { denyCache: options.denyCache, rules: options.block ? { burst: { block: '10 m' } } : {} });
    return { ...w, admin: createRateLimitAdmin(w.limiter) };
  };

  prop.prop([fc.array(fc.record({ gap: fc.integer({ min: 40_000, max: 5 * MIN }), tokens: fc.integer({ min: 100, max: 400 }) }), { minLength: 20, maxLength: 120, size: 'max' })], {
    numRuns: 8,
  })('normal traffic under the limits raises nothing', async (calls) => {
    const { clock, limiter, seen } = setup();
    for (const c of calls) {
      clock.advance(c.gap);
      await limiter.check('steady', { plan: 'starter', cost: c.tokens });
    }
    expect(seen).toEqual([]);
    await limiter.close();
  });

  it('a burst of calls raises one burst anomaly, again only after a quiet period', async () => {
    const { clock, limiter, seen, admin } = setup();
    // 110 calls over 4.5 minutes: over 2 x 50 in 5 minutes; its ~60 denials stay under 30 a minute
    for (let i = 0; i < 110; i++) {
      clock.advance(2450);
      await limiter.check('bursty', { plan: 'starter', cost: 10 });
    }
    expect(seen.map((a) => a.rule)).toEqual(['burst']);
    expect(seen[0]).toMatchObject({ identifier: 'bursty', plan: 'starter', threshold: 100, windowMs: 5 * MIN, blockedUntil: undefined });
    expect(seen[0]!.value).toBeGreaterThan(100);
    // still bursting (more slowly, so the denials stay under a storm): the same episode
    for (let i = 0; i < 15; i++) {
      clock.advance(4000);
      await limiter.check('bursty', { plan: 'starter', cost: 10 });
    }
    expect(seen.map((a) => a.rule)).toEqual(['burst']);
    // quiet, then a new burst: a new episode
    clock.advance(2 * HOUR);
    for (let i = 0; i < 110; i++) {
      clock.advance(2450);
      await limiter.check('bursty', { plan: 'starter', cost: 10 });
    }
    expect(seen.map((a) => a.rule)).toEqual(['burst', 'burst']);
    const stream = await admin.anomalies();
    expect(stream.map((e) => e.anomaly.rule)).toEqual(['burst', 'burst']);
    expect(stream[0]!.anomaly).toEqual(seen[1]);
    // and the creator's own history
    expect((await admin.anomalies({ identifier: 'bursty' })).map((e) => e.anomaly)).toEqual([seen[1], seen[0]]);
    expect(await admin.anomalies({ identifier: 'someone-else' })).toEqual([]);
    await limiter.close();
  });

  it.each([true, false])('a client retrying a denied call in a loop raises one denial storm (deny cache %s)', async (denyCache) => {
    const { clock, limiter, seen } = setup({ denyCache });
    await useUp(limiter, clock, 'looper');
    // 60 retries within 40 s, all denied (most of them answered by the deny cache when it is on)
    for (let i = 0; i < 60; i++) {
      clock.advance(666);
      expect((await limiter.check('looper', { plan: 'starter' })).allowed).toBe(false);
    }
    expect(seen.map((a) => a.rule)).toEqual(['denial-storm']);
    expect(seen[0]!.threshold).toBe(30);
    await limiter.close();
  });

  it('tokens far above the creator own baseline raise one cost spike', async () => {
    const { clock, limiter, seen } = setup();
    await ordinaryHours(limiter, clock, 'spender', 4);
    expect(seen).toEqual([]);
    // then 9,000 tokens in one hour, in ordinary-looking calls
    for (let i = 0; i < 6; i++) {
      clock.advance(5 * MIN);
      await limiter.check('spender', { plan: 'starter', cost: 1500 });
    }
    expect(seen.map((a) => a.rule)).toEqual(['cost-spike']);
    // the hour's 200 tokens at 13:00 and 6 x 1,500: raised at the sixth, over 5 x 1,000 plus the
    // noise margin, 3 x sqrt(5 x 1,000 x 200) = 3,000
    expect(seen[0]).toMatchObject({ value: 9200, threshold: 8000 });
    await limiter.close();
  });

  it('an automatic block denies every call and lifts at its expiry', async () => {
    const { clock, limiter, seen, admin } = setup({ block: true });
    for (let i = 0; i < 105; i++) {
      clock.advance(2000);
      await limiter.check('abuser', { plan: 'starter' });
    }
    expect(seen.map((a) => a.rule)).toContain('burst');
    const burst = seen.find((a) => a.rule === 'burst')!;
    expect(burst.blockedUntil).toBe(burst.at + 10 * MIN);
    const blocked = await expectEventually(() => limiter.check('abuser', { plan: 'starter' }), (r) => r.deniedBy === 'blocked');
    expect(blocked.retryAfterMs).toBeLessThanOrEqual(10 * MIN);
    expect((await admin.audit())[0]).toMatchObject({ actor: 'anomaly-detector', action: 'block', identifier: 'abuser' });
    clock.set(burst.blockedUntil! + 1);
    expect((await limiter.check('abuser', { plan: 'starter' })).deniedBy).not.toBe('blocked');
    await limiter.close();
  });
});

/** Polls: a block reaches the instance's control cache through the store's announcements. */
async function expectEventually<T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`not reached: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
