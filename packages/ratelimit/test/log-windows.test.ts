// A plan of one sliding log and two sliding-window counters (the usual AI plan) takes its own
// path in check.lua (logwin_check), with the anomaly counters' check path (observe_check): the
// model test's plan has one window. Random checks, peeks and reserves, with and without anomaly
// counting, in every order of the three limits, against the pure model. Its usual check keeps the
// windows and anomaly counters in the log's header (hoisted state, see lib.lua): where they live,
// and how long, on a real server.
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import type { CompiledRules } from '../src/anomaly';
import { emptyState, evaluate } from '../src/model';
import { compilePolicy } from '../src/policy';
import { createRedisStore } from '../src/redis';
import type { StoreEvaluateRequest } from '../src/stores/types';
import type { Redis } from 'ioredis';

import { client, prefix } from './fixtures/stores';

const LIMITS = compilePolicy({
  plan: {
    limits: [
      { name: 'minute', limit: 6, window: '10 m' },
      { name: 'hour', limit: 9, window: '1 h', algorithm: 'sliding-window' },
      { name: 'tokens', limit: 40, window: '3 h', unit: 'tokens', algorithm: 'sliding-window' },
    ],
  },
}).plans.get('plan')!.limits;
// small thresholds and windows: steps move, rules fire, hours turn within a sequence
const RULES: CompiledRules = {
  burst: { windowMs: 10 * 60_000, threshold: 5, blockMs: 0 },
  denialStorm: { windowMs: 7 * 60_000, threshold: 3, blockMs: 0 },
  costSpike: { unit: 'tokens', factor: 2, minCost: 5, minHours: 1, blockMs: 0 },
};
const STATE_TTL = 4 * 3_600_000;

const opArb = fc.oneof(
  { weight: 2, arbitrary: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 1, max: 5 * 60_000 }), fc.integer({ min: 1, max: 90 * 60_000 }), fc.integer({ min: -20 * 60_000, max: -1 })).map((ms) => ({ op: 'advance' as const, ms })) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constantFrom('check' as const, 'check' as const, 'check' as const, 'peek' as const, 'reserve' as const),
      costs: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 3 }), fc.oneof(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 40 }))),
      anomaly: fc.option(fc.record({ cost: fc.integer({ min: 0, max: 12 }), pendingDenied: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }) }), { nil: undefined, freq: 5 }),
    }),
  },
);

describe('a plan of a sliding log and two sliding windows', () => {
  const store = createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s' });
  it.prop([fc.array(opArb, { minLength: 1, maxLength: 100 }), fc.constantFrom([0, 1, 2], [1, 0, 2], [1, 2, 0], [2, 1, 0]), fc.boolean(), fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 })], { numRuns: 120 })(
    'answers as the model, with the same anomalies',
    async (ops, order, watched, start) => {
      const limits = order.map((i) => LIMITS[i]!);
      const state = emptyState();
      const identifier = `logwin-${Math.random()}`;
      let now = start;
      for (const op of ops) {
        if (op.op === 'advance') {
          now = Math.min(start + STATE_TTL / 2, Math.max(start, now + op.ms));
          continue;
        }
        const input: StoreEvaluateRequest = {
          identifier,
          limits,
          costs: order.map((i) => op.costs[i]),
          mode: op.op,
          now,
          reservationTtlMs: 25 * 60_000,
          stateTtlMs: STATE_TTL,
          anomaly: watched && op.anomaly ? { rules: RULES, ...op.anomaly } : undefined,
        };
        const expected = evaluate(state, { ...input, now });
        expect(await store.evaluate(input)).toEqual(expected);
      }
    },
  );
});

describe('hoisted state', () => {
  const p = prefix();
  const redis = client('redis') as Redis;
  const store = createRedisStore({ client: redis, prefix: p, timeout: '20 s', batch: 1 });
  const hourOnly = compilePolicy({ plan: { limits: [{ name: 'hour', limit: 9, window: '1 h', algorithm: 'sliding-window' }] } }).plans.get('plan')!.limits;
  const request = (limits: typeof LIMITS, costs: number[], now: number, anomaly = true): StoreEvaluateRequest => ({
    identifier: 'h',
    limits,
    costs,
    mode: 'check',
    now,
    reservationTtlMs: 25 * 60_000,
    stateTtlMs: STATE_TTL,
    anomaly: anomaly ? { rules: RULES, cost: costs[2] ?? 0, pendingDenied: 0 } : undefined,
  });
  const hash = `${p}:{h}`;
  const log = `${hash}:log3:minute`;

  it('lives in the log header while the usual checks run, as long as the state TTL, and moves back for any other plan', async () => {
    const t = Date.now();
    // the first check writes the hash; the second, usual, hoists: the fields leave the hash for the log's header
    await store.evaluate(request(LIMITS, [1, 1, 5], t));
    await store.evaluate(request(LIMITS, [1, 1, 5], t + 1));
    expect(await redis.hget(hash, '~x')).toBe('minute');
    expect(await redis.hmget(hash, 'hour.sw', 'tokens.sw', '~c')).toEqual([null, null, null]);
    // the log lives a state TTL (and a quarter), not two of its windows; the hash at least as long
    const logTtl = await redis.pttl(log);
    expect(logTtl).toBeGreaterThan(STATE_TTL);
    expect(logTtl).toBeLessThanOrEqual(STATE_TTL * 1.25);
    expect(await redis.pttl(hash)).toBeGreaterThanOrEqual(logTtl - 1000);
    const usual = await store.evaluate(request(LIMITS, [1, 1, 5], t + 2));
    expect(usual.limits.map((l) => l.remaining)).toEqual([3, 6, 25]);
    // a plan of the hour alone finds it where it is: the fields move back, '~x' goes
    const alone = await store.evaluate(request(hourOnly, [1], t + 3, false));
    expect(alone.limits[0]!.remaining).toBe(5);
    expect(await redis.hget(hash, '~x')).toBeNull();
    expect(await redis.hexists(hash, 'tokens.sw')).toBe(1);
    expect(await redis.hexists(hash, '~c')).toBe(1);
    // and back in the header with the next usual check, every count kept
    const again = await store.evaluate(request(LIMITS, [1, 1, 5], t + 4));
    expect(again.limits.map((l) => l.remaining)).toEqual([2, 4, 20]);
    expect(await redis.hget(hash, '~x')).toBe('minute');
    const peek = await store.evaluate({ ...request(LIMITS, [1, 1, 5], t + 5), mode: 'peek' });
    expect(peek.limits.map((l) => l.remaining)).toEqual([2, 4, 20]);
    expect(await redis.hget(hash, '~x')).toBeNull();
  });

  it("a '~x' whose log expired (and was made again by a plan of the log alone) is dropped, not followed", async () => {
    const t = Date.now();
    const at = (limits: typeof LIMITS, costs: number[], now: number, anomaly = true) => ({ ...request(limits, costs, now, anomaly), identifier: 'gone' });
    await store.evaluate(at(LIMITS, [1, 1, 5], t));
    await store.evaluate(at(LIMITS, [1, 1, 5], t + 1));
    expect(await redis.hget(`${p}:{gone}`, '~x')).toBe('minute');
    // the log expires, the hoisted counters with it; the hash (kept alive by another plan) keeps '~x'
    await redis.del(`${p}:{gone}:log3:minute`);
    const logOnly = compilePolicy({ plan: { limits: [{ name: 'minute', limit: 6, window: '10 m' }] } }).plans.get('plan')!.limits;
    expect((await store.evaluate(at(logOnly, [1], t + 2, false))).limits[0]!.remaining).toBe(5);
    const after = await store.evaluate(at(LIMITS, [1, 1, 5], t + 3));
    expect(after.limits.map((l) => l.remaining)).toEqual([4, 8, 35]);
  });

  it('times that are not whole milliseconds (the store API takes them) set whole TTLs', async () => {
    const t = Date.now() + 0.5;
    const at = (limits: typeof LIMITS, costs: number[], now: number) => ({ ...request(limits, costs, now), identifier: 'half' });
    for (let i = 0; i < 3; i++) expect((await store.evaluate(at(LIMITS, [1, 1, 5], t + i))).allowed).toBe(true);
    expect(await redis.hget(`${p}:{half}`, '~x')).toBe('minute');
    expect((await store.evaluate({ ...at(hourOnly, [1], t + 3), anomaly: undefined })).limits[0]!.remaining).toBe(5);
    expect(await redis.pttl(`${p}:{half}:log3:minute`)).toBeGreaterThan(0);
  });

  it('a reset of one of its limits resets that one only', async () => {
    const t = Date.now();
    const id = 'r';
    const at = (now: number) => ({ ...request(LIMITS, [1, 2, 5], now), identifier: id });
    await store.evaluate(at(t));
    await store.evaluate(at(t + 1));
    expect(await redis.hget(`${p}:{${id}}`, '~x')).toBe('minute');
    await store.reset({ identifier: id, limits: [LIMITS[1]!], all: false, stateTtlMs: STATE_TTL });
    const after = await store.evaluate({ ...at(t + 2), mode: 'peek' });
    expect(after.limits.map((l) => l.remaining)).toEqual([4, 9, 30]);
  });
});
