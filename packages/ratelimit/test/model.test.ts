// Model-based: random sequences of check / peek / reserve / settle / refund / reset with random
// costs, plans and time steps, run against the pure model and every store. Any difference fails.
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { type CompiledRules, observeSettle } from '../src/anomaly';
import { emptyState, evaluate, type EvaluateOutput, inspectState, reset, settle } from '../src/model';
import { compilePolicy, type CompiledLimit } from '../src/policy';
import type { Store } from '../src/stores/types';
import { createRedisStore } from '../src/redis';
import { client, makeStore, NODE_REDIS_KINDS, nodeRedisClient, prefix, STORE_KINDS } from './fixtures/stores';

// Small limits so sequences hit every edge; windows of 10 min and more, so real-time key expiry
// in Redis never happens within a test run.
const policy = compilePolicy({
  all: {
    limits: [
      { name: 'log', limit: 5, window: '10 m' },
      { name: 'weighted-log', limit: 40, window: '12 m', unit: 'tokens' },
      { name: 'window', limit: 20, window: '15 m', algorithm: 'sliding-window', unit: 'tokens' },
      { name: 'bucket', limit: 7, window: '20 m', algorithm: 'token-bucket' },
      { name: 'fixed', limit: 30, window: '30 m', algorithm: 'fixed-window', unit: 'tokens' },
      { name: 'month', limit: 50, window: 'month', algorithm: 'fixed-window', unit: 'tokens' },
    ],
  },
});
const LIMITS = policy.plans.get('all')!.limits;
// small thresholds so sequences set every rule off, then go quiet, then set it off again
const RULES: CompiledRules = {
  burst: { windowMs: 10 * 60_000, threshold: 8, blockMs: 0 },
  denialStorm: { windowMs: 7 * 60_000, threshold: 3, blockMs: 0 },
  costSpike: { unit: 'tokens', factor: 2, minCost: 5, minHours: 2, blockMs: 0 },
};
const STATE_TTL = policy.maxTtlMs;
const RESERVATION_TTL = 25 * 60_000;

type Op =
  | { op: 'advance'; ms: number }
  | { op: 'check' | 'peek' | 'reserve'; limits: number[]; costs: number[]; anomaly: { cost: number; pendingDenied: number } | undefined }
  | { op: 'settle'; which: number; costs: (number | undefined)[]; anomalyCost: number | undefined }
  | { op: 'refund'; which: number; anomalyCost: number | undefined }
  | { op: 'reset'; limit: number | undefined }
  | { op: 'inspect' };

const subset = fc.subarray(
  LIMITS.map((_, i) => i),
  { minLength: 1 },
);
// mostly small costs, so state builds up across many calls; sometimes up to the whole limit
const costsFor = (limits: number[]) =>
  fc
    .tuple(...limits.map((i) => fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: LIMITS[i]!.limit }) })))
    .filter((c) => c.some((x) => x > 0));
const anomalyArb = fc.option(
  fc.record({ cost: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })), pendingDenied: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }) }),
  { nil: undefined, freq: 3 },
);
const settleCostArb = fc.option(fc.integer({ min: -40, max: 40 }), { nil: undefined, freq: 3 });
const evaluation = (op: 'check' | 'peek' | 'reserve') =>
  subset.chain((limits) => fc.tuple(costsFor(limits), anomalyArb).map(([costs, anomaly]): Op => ({ op, limits, costs, anomaly })));

/** Time a sequence spans: kept under the state TTL, after which stores may forget (the model does not). */
const span = (ops: readonly Op[]) => ops.reduce((t, op) => t + (op.op === 'advance' ? op.ms : 0), 0);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // mostly steps well inside the windows (entries overlap and expire one by one), some across
  // window and month boundaries
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        { weight: 1, arbitrary: fc.constantFrom(0, 1) },
        { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 * 60_000 }) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 * 60_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 * 86_400_000 }) },
      )
      .map((ms): Op => ({ op: 'advance', ms })),
  },
  { weight: 5, arbitrary: evaluation('check') },
  { weight: 1, arbitrary: evaluation('peek') },
  { weight: 2, arbitrary: evaluation('reserve') },
  // with a difference from the estimate for the cost-spike rule, or none (no rules)
  {
    weight: 2,
    arbitrary: fc
      .record({ which: fc.nat(), costs: fc.array(fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }), { minLength: LIMITS.length, maxLength: LIMITS.length }), anomalyCost: settleCostArb })
      .map((r): Op => ({ op: 'settle', ...r })),
  },
  { weight: 1, arbitrary: fc.record({ which: fc.nat(), anomalyCost: settleCostArb }).map((r): Op => ({ op: 'refund', ...r })) },
  { weight: 1, arbitrary: fc.option(fc.integer({ min: 0, max: LIMITS.length - 1 }), { nil: undefined }).map((limit): Op => ({ op: 'reset', limit })) },
  { weight: 1, arbitrary: fc.constant<Op>({ op: 'inspect' }) },
);

/** The pure model as a Store, for side-by-side runs. */
type CoreStore = Pick<Store, 'kind' | 'evaluate' | 'settle' | 'reset' | 'inspect'>;

function modelStore(): CoreStore {
  const state = emptyState();
  return {
    kind: 'model',
    evaluate: (r) => Promise.resolve(evaluate(state, { ...r, now: r.now! })),
    settle: (r) => {
      const status = settle(state, { ...r, now: r.now! });
      return Promise.resolve({ status, now: r.now!, anomalies: status === 'settled' ? observeSettle(state.anomaly, r.anomaly, r.now!) : [] });
    },
    reset: (r) => Promise.resolve(reset(state, r.all ? undefined : r.limits.map((l) => l.name))),
    inspect: (_, now) => Promise.resolve({ now: now!, ...inspectState(state, now!) }),
  };
}

async function run(store: CoreStore, ops: readonly Op[], start: number) {
  let now = start;
  const trace: unknown[] = [];
  const reservations: { id: string; expiresAt: number }[] = [];
  const identifier = `model-${Math.random()}`;
  for (const op of ops) {
    switch (op.op) {
      case 'advance':
        now += op.ms;
        break;
      case 'check':
      case 'peek':
      case 'reserve': {
        const limits: CompiledLimit[] = op.limits.map((i) => LIMITS[i]!);
        const anomaly = op.anomaly && { rules: RULES, ...op.anomaly };
        const out: EvaluateOutput = await store.evaluate({ identifier, limits, costs: op.costs, mode: op.op, now, reservationTtlMs: RESERVATION_TTL, stateTtlMs: STATE_TTL, anomaly });
        if (out.reservation) reservations.push(out.reservation);
        trace.push(out);
        break;
      }
      case 'settle':
      case 'refund': {
        if (reservations.length === 0) break;
        const { id, expiresAt } = reservations[op.which % reservations.length]!;
        const costs = new Map<string, number>();
        LIMITS.forEach((l, i) => {
          const c = op.op === 'refund' ? 0 : op.costs[i];
          if (c !== undefined) costs.set(l.name, c);
        });
        const anomaly = op.anomalyCost === undefined ? undefined : { rules: RULES, cost: op.anomalyCost };
        trace.push(await store.settle({ identifier, reservationId: id, expiresAt, limits: LIMITS, costs, now, stateTtlMs: STATE_TTL, anomaly }));
        break;
      }
      case 'inspect':
        trace.push(await store.inspect(identifier, now));
        break;
      case 'reset':
        await store.reset({ identifier, limits: op.limit === undefined ? LIMITS : [LIMITS[op.limit]!], all: op.limit === undefined, stateTtlMs: STATE_TTL });
        trace.push('reset');
        break;
    }
  }
  return trace;
}

describe('every store agrees with the pure model', () => {
  // the Redis store runs the Lua as a Functions library by default; EVALSHA must agree too
  const stores: Record<string, CoreStore> = {
    ...Object.fromEntries(STORE_KINDS.map((k) => [k, makeStore(k)])),
    'redis (eval)': createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
  };
  // mostly today's clock; sometimes one near 0, as a test clock may start (log members carry the
  // time as 13 zero-padded digits)
  const startArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 10_000_000 }) });
  it.prop([fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }).filter((ops) => span(ops) < STATE_TTL), startArb], { numRuns: 200 })(
    'same answers for the same calls',
    async (ops, start) => {
      const expected = await run(modelStore(), ops, start);
      for (const [kind, store] of Object.entries(stores)) {
        expect(await run(store, ops, start), kind).toEqual(expected);
      }
    },
  );
});

// the same law through node-redis (the `redis` package): its own block, so each has its own time
describe('the Redis store through node-redis agrees with the pure model', () => {
  const stores: Record<string, CoreStore> = {
    ...Object.fromEntries(NODE_REDIS_KINDS.map((k) => [k, makeStore(k)])),
    'node-redis (eval)': createRedisStore({ client: nodeRedisClient('node-redis'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
  };
  const startArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 10_000_000 }) });
  it.prop([fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }).filter((ops) => span(ops) < STATE_TTL), startArb], { numRuns: 200 })(
    'same answers for the same calls',
    async (ops, start) => {
      const expected = await run(modelStore(), ops, start);
      for (const [kind, store] of Object.entries(stores)) {
        expect(await run(store, ops, start), kind).toEqual(expected);
      }
    },
  );
});

describe('checks sent together', () => {
  // Calls started in the same tick go to Redis as one batch (see the store's `batch` option):
  // they must answer exactly as the same calls one after the other. A batch of 4 splits bigger
  // groups; a cluster sends each alone.
  const stores: Record<string, CoreStore> = {
    redis: makeStore('redis'),
    'redis (eval)': createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
    'redis (batch 4)': createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s', batch: 4 }),
    cluster: makeStore('cluster'),
    'node-redis': makeStore('node-redis'),
    'node-redis (batch 4)': createRedisStore({ client: nodeRedisClient('node-redis'), prefix: prefix(), timeout: '20 s', batch: 4 }),
    'node-redis-cluster': makeStore('node-redis-cluster'),
  };
  const groupArb = fc.array(fc.oneof(evaluation('check'), evaluation('reserve'), evaluation('peek')), { minLength: 1, maxLength: 12 });
  it.prop([fc.array(fc.tuple(groupArb, fc.integer({ min: 0, max: 4 * 60_000 })), { minLength: 1, maxLength: 6 }), fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 })], { numRuns: 60 })(
    'answer as the same calls one after the other',
    async (groups, start) => {
      for (const [kind, store] of Object.entries(stores)) {
        const model = modelStore(); // one identifier's state
        const identifier = `together-${Math.random()}`;
        let now = start;
        for (const [group, step] of groups) {
          now += step;
          const requests = group.map((op) => {
            if (op.op === 'check' || op.op === 'peek' || op.op === 'reserve') {
              const limits = op.limits.map((i) => LIMITS[i]!);
              return { identifier, limits, costs: op.costs, mode: op.op, now, reservationTtlMs: RESERVATION_TTL, stateTtlMs: STATE_TTL, anomaly: op.anomaly && { rules: RULES, ...op.anomaly } };
            }
            throw new Error(`unexpected op ${op.op}`);
          });
          const together = await Promise.all(requests.map((r) => store.evaluate(r)));
          const oneByOne: EvaluateOutput[] = [];
          for (const r of requests) oneByOne.push(await model.evaluate(r));
          expect(together, kind).toEqual(oneByOne);
        }
      }
    },
  );
});
