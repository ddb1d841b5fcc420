// Anomaly rules as laws, on simulated time, against every store: a burst is raised iff it is over
// its threshold, whatever its start phase, once per episode; settle spikes like check spikes; a
// short denial storm answered by the deny cache is raised within a stated delay; anomaly memory
// stays bounded while identifiers churn. False-alarm rates: test/anomaly-false-alarms.test.ts.
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { type Anomaly, type AnomalyRules, createMemoryStore, createRateLimiter, type PlansConfig } from '../src/index';
import { client, makeStore, manualClock, prefix, STORE_KINDS } from './fixtures/stores';
import { createRedisStore } from '../src/redis';
import { ordinaryHours, useUp, watched } from './fixtures/anomaly';
import { HOUR_MS, MINUTE_MS, SECOND_MS } from '../src/time';

const SEC = SECOND_MS;
const MIN = MINUTE_MS;
const HOUR = HOUR_MS;

// the legacy plan (50 calls per sliding hour, plus a token budget): see fixtures/anomaly.ts
const runs = { memory: 40, redis: 12, cluster: 6 } as const;

describe.each(STORE_KINDS)('%s store', (kind) => {
  // 2 x the hourly limit (50) within 5 minutes: threshold 100 calls
  prop.prop(
    [
      fc.integer({ min: 60, max: 160 }), // calls in the burst: k = calls / 50 x the reference
      fc.integer({ min: 0, max: 5 * MIN - 1 }), // start phase within a 5-minute window
      fc.integer({ min: 0, max: 5 * MIN }), // the burst's span, within the window
      fc.boolean(), // deny cache on or off
    ],
    { numRuns: runs[kind] },
  )('a burst within the window is raised iff over 2 x the reference, once per episode, at any start phase', async (calls, phase, span, denyCache) => {
    const { clock, limiter, seen } = watched(makeStore(kind), { rules: { denialStorm: false, costSpike: false }, denyCache, start: Date.UTC(2026, 5, 1, 9, 0, 0) + phase });
    for (let episode = 0; episode < 2; episode++) {
      const from = clock();
      for (let i = 0; i < calls; i++) {
        clock.set(from + Math.floor((i * span) / (calls - 1)));
        await limiter.check('bursty', { plan: 'starter' });
      }
      // quiet for longer than the window and the hour: the next burst is a new episode
      clock.advance(2 * HOUR);
    }
    await limiter.close(); // hits the deny cache still holds reach the store
    expect(seen.map((a) => a.rule)).toEqual(calls > 100 ? ['burst', 'burst'] : []);
    for (const a of seen) expect(a).toMatchObject({ threshold: 100, windowMs: 5 * MIN });
  });

  it('a reserve settled far above its estimate raises a cost spike, as the same tokens through check do', async () => {
    const results: string[][] = [];
    for (const how of ['check', 'settle'] as const) {
      const { clock, limiter, seen } = watched(makeStore(kind), { rules: { burst: false, denialStorm: false } });
      await ordinaryHours(limiter, clock, 'spender', 4);
      expect(seen).toEqual([]);
      // then ten calls of 20,000 tokens: estimated at 500 each when reserved
      for (let i = 0; i < 10; i++) {
        clock.advance(3 * MIN);
        if (how === 'check') await limiter.check('spender', { plan: 'starter', cost: 20_000 });
        else {
          const { reservation } = await limiter.reserve('spender', { plan: 'starter', cost: 500 });
          expect((await limiter.settle(reservation!, { cost: 20_000 })).status).toBe('settled');
        }
      }
      results.push(seen.map((a) => a.rule));
      await limiter.close();
    }
    expect(results).toEqual([['cost-spike'], ['cost-spike']]);
  });

  it('a cost spike across a clock hour is one episode; a creator back after idle hours with the same usage raises nothing', async () => {
    const { clock, limiter, seen } = watched(makeStore(kind), { rules: { burst: false, denialStorm: false } });
    // three working hours of 1,000 tokens, then 6 idle hours, then three more: no alarm
    await ordinaryHours(limiter, clock, 'regular', 3);
    clock.advance(6 * HOUR);
    await ordinaryHours(limiter, clock, 'regular', 3);
    expect(seen).toEqual([]);
    // a spike from :40 to :40 an hour later, 9,000 tokens every 10 minutes: one episode
    clock.set(Math.ceil(clock() / HOUR) * HOUR + 40 * MIN);
    for (let i = 0; i < 7; i++) {
      await limiter.check('regular', { plan: 'starter', cost: 9000 });
      clock.advance(10 * MIN);
    }
    expect(seen.map((a) => a.rule)).toEqual(['cost-spike']);
    await limiter.close();
  });

  it('refunds count: reserving big and refunding raises nothing', async () => {
    const { clock, limiter, seen } = watched(makeStore(kind), { rules: { burst: false, denialStorm: false } });
    await ordinaryHours(limiter, clock, 'careful', 4);
    // the estimates alone would be a spike; every one is refunded before the next
    for (let i = 0; i < 10; i++) {
      clock.advance(3 * MIN);
      const { reservation } = await limiter.reserve('careful', { plan: 'starter', cost: 900 });
      await limiter.refund(reservation!);
    }
    expect(seen).toEqual([]);
    await limiter.close();
  });

  it('a short denial storm answered by the deny cache, then silence, is raised within 7 s', async () => {
    const { clock, limiter, seen } = watched(makeStore(kind), { rules: { burst: false, costSpike: false } });
    await useUp(limiter, clock, 'looper');
    // 45 denied retries in 4.5 s, then nothing more from this creator
    const stormAt = clock();
    for (let i = 0; i < 45; i++) {
      clock.advance(100);
      expect((await limiter.check('looper', { plan: 'starter' })).allowed).toBe(false);
    }
    expect(seen).toEqual([]);
    // the deny cache reports its hits 5 s after the first one, on a timer that ticks every second
    clock.advance(6 * SEC);
    const deadline = Date.now() + 7000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.map((a) => a.rule)).toEqual(['denial-storm']);
    expect(seen[0]!.value).toBe(45);
    expect(seen[0]!.at - stormAt).toBeLessThanOrEqual(11 * SEC);
    await limiter.close();
  });
});

describe('anomaly memory while identifiers churn', () => {
  const churnPlans = { p: { limits: [{ name: 'minute', limit: 5, window: '20 s' }] } } satisfies PlansConfig;
  const rules: AnomalyRules = { burst: { threshold: 3, window: '1 m' }, denialStorm: false, costSpike: false };

  it('memory store: identifiers that never reserved are kept for their windows, not reservationTtl', async () => {
    const store = createMemoryStore();
    const clock = manualClock(Date.UTC(2026, 5, 1));
    const limiter = createRateLimiter({ plans: churnPlans, store, clock, logger: false, denyCache: false, anomalies: rules });
    let most = 0;
    // 100 new identifiers a second for 2 simulated minutes, each calling twice
    for (let s = 0; s < 120; s++) {
      for (let i = 0; i < 100; i++) {
        await limiter.check(`churn-${s}-${i}`, { plan: 'p' });
        await limiter.check(`churn-${s}-${i}`, { plan: 'p' });
      }
      clock.advance(SEC);
      store.sweep(clock());
      most = Math.max(most, store.size);
    }
    // kept for the longer of 2 windows (40 s, sliding-log: 20 s) and the burst counters' 66 s
    expect(most).toBeLessThanOrEqual(67 * 100);
    expect(most).toBeGreaterThanOrEqual(60 * 100);
    await limiter.close();
  });

  it.each(['redis', 'cluster'] as const)('%s: an identifier history stays under 1 KB and 20 entries, and expires', async (kind) => {
    const redis = client(kind);
    const p = prefix();
    const clock = manualClock(Date.UTC(2026, 5, 1));
    const seen: Anomaly[] = [];
    const limiter = createRateLimiter({
      plans: churnPlans,
      store: createRedisStore({ client: redis, prefix: p }),
      clock,
      logger: false,
      denyCache: false,
      anomalies: { ...rules, onAnomaly: (a) => seen.push(a) },
    });
    // one identifier raising 30 episodes
    for (let e = 0; e < 30; e++) {
      for (let i = 0; i < 4; i++) await limiter.check('rotating', { plan: 'p' });
      clock.advance(5 * MIN);
    }
    expect(seen).toHaveLength(30);
    const key = `${p}:{rotating}:hist:anomalies`;
    const deadline = Date.now() + 5000;
    while ((await redis.llen(key)) < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await redis.llen(key)).toBe(20);
    const bytes = Number(await redis.call('MEMORY', 'USAGE', key));
    expect(bytes).toBeLessThan(20 * 1024);
    // one entry: a fresh identifier
    for (let i = 0; i < 4; i++) await limiter.check('once', { plan: 'p' });
    const once = `${p}:{once}:hist:anomalies`;
    while ((await redis.llen(once)) < 1 && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
    expect(Number(await redis.call('MEMORY', 'USAGE', once))).toBeLessThan(1024);
    const ttl = await redis.pttl(once);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(7 * 86_400_000);
    await limiter.close();
  });
});

describe('burst thresholds from their reference', () => {
  const thresholdOf = (plansConfig: PlansConfig, burst: AnomalyRules['burst'] = {}) => {
    const seen: Anomaly[] = [];
    return { seen, limiter: createRateLimiter({ plans: plansConfig, logger: false, anomalies: { burst, denialStorm: false, costSpike: false, onAnomaly: (a) => seen.push(a) } }) };
  };
  it.each([
    // a per-minute limit first: its 5-minute allowance (50) sets the threshold, not its 10
    ['a per-minute limit first', { p: { limits: [{ name: 'minute', limit: 10, window: '1 m' }, { name: 'hourly', limit: 200, window: '1 h' }] } }, {}, 100],
    ['the tightest of several', { p: { limits: [{ name: 'hourly', limit: 50, window: '1 h' }, { name: 'minute', limit: 30, window: '1 m' }] } }, {}, 100],
    ['a named reference', { p: { limits: [{ name: 'minute', limit: 10, window: '1 m' }, { name: 'daily', limit: 400, window: '1 d' }] } }, { reference: 'daily' }, 800],
    ['an explicit rate', { p: { limits: [{ name: 'minute', limit: 10, window: '1 m' }] } }, { reference: { limit: 60, window: '1 h' }, multiple: 1.5 }, 90],
  ] as const)('%s', async (_, plansConfig, burst, threshold) => {
    const { limiter, seen } = thresholdOf(plansConfig, burst);
    // threshold + 1 calls within a second: the burst rule raises with its threshold
    for (let i = 0; i <= threshold; i++) await limiter.check('t', { plan: 'p' });
    await limiter.close(); // the deny cache hands over the denials it answered
    expect(seen.map((a) => [a.rule, a.threshold, a.value])).toEqual([['burst', threshold, threshold + 1]]);
  });
});
