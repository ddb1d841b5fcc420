// A plan of one sliding log and two sliding-window counters (the usual AI plan) takes its own
// path in check.lua (logwin_check), with the anomaly counters' check path (observe_check): the
// model test's plan has one window. Random checks, peeks and reserves, with and without anomaly
// counting, in every order of the three limits, against the pure model.
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import type { CompiledRules } from '../src/anomaly';
import { emptyState, evaluate } from '../src/model';
import { compilePolicy } from '../src/policy';
import { createRedisStore } from '../src/redis';
import type { StoreEvaluateRequest } from '../src/stores/types';
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
