// Model-based: random sequences of check / peek / reserve / settle / refund / reset with random
// costs, plans and time steps, run against the pure model and every store. Any difference fails.
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { type CompiledRules, observeSettle } from '../src/anomaly';
import { createMemoryStore, createRateLimiter, type Reservation, type ReserveResult } from '../src/index';
import { emptyState, evaluate, type EvaluateOutput, inspectState, reset, settle } from '../src/model';
import { compilePolicy, type CompiledLimit } from '../src/policy';
import type { Store } from '../src/stores/types';
import { createRedisStore } from '../src/redis';
import { client, GLIDE_KINDS, glideClient, makeStore, NODE_REDIS_KINDS, nodeRedisClient, prefix, STORE_KINDS } from './fixtures/stores';

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
      { name: 'window2', limit: 25, window: '20 m', algorithm: 'sliding-window' },
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

// a sliding log and two sliding windows, in two orders: the shape whose usual check keeps the
// windows and anomaly counters in the log's header (hoisted state, check.lua), often, among
// every other subset, which must each find them wherever they are
const HOISTING: readonly (readonly number[])[] = [
  [0, 2, 6],
  [1, 6, 2],
];
const hoisting = (limits: readonly number[]) => HOISTING.some((h) => h.length === limits.length && h.every((i, k) => limits[k] === i));
const subset = fc.oneof(
  { weight: 3, arbitrary: fc.subarray(LIMITS.map((_, i) => i), { minLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...HOISTING).map((h) => [...h]) },
);
// mostly small costs, so state builds up across many calls; sometimes up to the whole limit
const anyCosts = (limits: number[]) =>
  fc
    .tuple(...limits.map((i) => fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: LIMITS[i]!.limit }) })))
    .filter((c) => c.some((x) => x > 0));
// the hoisting shape's usual costs (one unit of its log, some of each window) half the time
const costsFor = (limits: number[]) =>
  hoisting(limits)
    ? fc.oneof(anyCosts(limits), fc.tuple(...limits.map((i) => (LIMITS[i]!.algorithm === 'sliding-window' ? fc.integer({ min: 1, max: 3 }) : fc.constant(1)))))
    : anyCosts(limits);
const anomalyArb = fc.option(
  fc.record({ cost: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })), pendingDenied: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }) }),
  { nil: undefined, freq: 3 },
);
const settleCostArb = fc.option(fc.integer({ min: -40, max: 40 }), { nil: undefined, freq: 3 });
const evaluation = (op: 'check' | 'peek' | 'reserve') =>
  subset.chain((limits) => fc.tuple(costsFor(limits), anomalyArb).map(([costs, anomaly]): Op => ({ op, limits, costs, anomaly })));

/** Time a sequence spans (to its latest time): kept under the state TTL, after which stores may forget (the model does not). */
function span(ops: readonly Op[]): number {
  let t = 0;
  let latest = 0;
  for (const op of ops) if (op.op === 'advance') latest = Math.max(latest, (t = Math.max(0, t + op.ms)));
  return latest;
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // mostly steps well inside the windows (entries overlap and expire one by one), some across
  // window and month boundaries, some back (callers' clocks apart: what a peek, a settle or an
  // uncharged limit saw at a later time must not change what an earlier time finds)
  {
    weight: 4,
    arbitrary: fc
      .oneof(
        { weight: 1, arbitrary: fc.constantFrom(0, 1) },
        { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 * 60_000 }) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 40 * 60_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 * 86_400_000 }) },
        { weight: 2, arbitrary: fc.integer({ min: -40 * 60_000, max: -1 }) },
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
        now = Math.max(start, now + op.ms);
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

// mostly today's clock; sometimes one near 0, as a test clock may start (log members carry the
// time as 13 zero-padded digits)
const startArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 10_000_000 }) });

/** The law for one client library's stores: each block has its own time budget. */
function agreesWithModel(title: string, stores: () => Record<string, CoreStore>) {
  describe(title, () => {
    const made = stores();
    it.prop([fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }).filter((ops) => span(ops) < STATE_TTL), startArb], { numRuns: 200 })(
      'same answers for the same calls',
      async (ops, start) => {
        const expected = await run(modelStore(), ops, start);
        for (const [kind, store] of Object.entries(made)) {
          expect(await run(store, ops, start), kind).toEqual(expected);
        }
      },
    );
  });
}

// the Redis store runs the Lua as a Functions library by default; EVALSHA must agree too
// the memory store forgets by the calls' clock, so it keeps every identifier for the span a
// sequence may step back across (its `retention`), as Redis keeps its state hash
agreesWithModel('every store agrees with the pure model', () => ({
  ...Object.fromEntries(STORE_KINDS.map((k) => [k, k === 'memory' ? createMemoryStore({ retention: STATE_TTL }) : makeStore(k)])),
  'redis (eval)': createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
}));
// the same law through node-redis (the `redis` package)
agreesWithModel('the Redis store through node-redis agrees with the pure model', () => ({
  ...Object.fromEntries(NODE_REDIS_KINDS.map((k) => [k, makeStore(k)])),
  'node-redis (eval)': createRedisStore({ client: nodeRedisClient('node-redis'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
}));
// and through Valkey GLIDE (`@valkey/valkey-glide`), standalone and cluster
agreesWithModel('the Redis store through GLIDE agrees with the pure model', () => ({
  ...Object.fromEntries(GLIDE_KINDS.map((k) => [k, makeStore(k)])),
  'glide (eval)': createRedisStore({ client: glideClient('glide'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
}));

describe('checks sent together', () => {
  // Calls started in the same tick go to Redis as one batch (see the store's `batch` option):
  // they must answer exactly as the same calls one after the other. A batch of 4 splits bigger
  // groups; a cluster sends each as its own call, those of one node in one pipeline.
  const stores: Record<string, CoreStore> = {
    redis: makeStore('redis'),
    'redis (eval)': createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
    'redis (batch 4)': createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s', batch: 4 }),
    cluster: makeStore('cluster'),
    'node-redis': makeStore('node-redis'),
    'node-redis (batch 4)': createRedisStore({ client: nodeRedisClient('node-redis'), prefix: prefix(), timeout: '20 s', batch: 4 }),
    'node-redis-cluster': makeStore('node-redis-cluster'),
    glide: makeStore('glide'),
    'glide (batch 4)': createRedisStore({ client: glideClient('glide'), prefix: prefix(), timeout: '20 s', batch: 4 }),
    'glide-cluster': makeStore('glide-cluster'),
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

describe('a shared budget agrees with its model', () => {
  // Three creators on two plans, a provider budget with a fair share, through the limiter (the
  // two-step charge across slots): random checks, reserves, settles, refunds and time steps,
  // against a plain model of sliding logs where a call is allowed when every limit it touches
  // has room. Windows of 1 minute, steps of up to 40 s: entries leave the windows during a run.
  const WINDOW = 60_000;
  const PLANS = {
    small: { limits: [{ name: 'per-minute', limit: 3, window: '1 m' }] },
    big: { limits: [{ name: 'per-minute', limit: 6, window: '1 m' }, { name: 'tokens', limit: 50, window: '1 m', unit: 'tokens' }] },
  } as const;
  const SHARED = {
    provider: {
      limits: [
        { name: 'provider-requests', limit: 8, window: '1 m' },
        { name: 'provider-tokens', limit: 60, window: '1 m', unit: 'tokens' },
      ],
      maxShare: 0.5,
    },
  } as const;
  const CREATORS = [
    ['c0', 'small'],
    ['c1', 'big'],
    ['c2', 'big'],
  ] as const;
  /** Limit name -> size, per plan, shares and budget included; budget limits are global. */
  const SIZES: Record<string, Record<string, number>> = {
    small: { 'per-minute': 3, 'provider-requests-share': 4, 'provider-tokens-share': 30 },
    big: { 'per-minute': 6, tokens: 50, 'provider-requests-share': 4, 'provider-tokens-share': 30 },
  };
  const BUDGET: Record<string, number> = { 'provider-requests': 8, 'provider-tokens': 60 };
  const unitOf = (name: string) => (name.includes('tokens') ? 'tokens' : 'requests');

  type SharedOp =
    | { op: 'advance'; ms: number }
    | { op: 'check' | 'reserve'; creator: number; tokens: number }
    | { op: 'settle'; which: number; tokens: number }
    | { op: 'refund'; which: number };
  const sharedOp: fc.Arbitrary<SharedOp> = fc.oneof(
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 40_000 }).map((ms): SharedOp => ({ op: 'advance', ms })) },
    { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('check' as const, 'reserve' as const), creator: fc.integer({ min: 0, max: 2 }), tokens: fc.integer({ min: 1, max: 25 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('settle' as const), which: fc.nat(), tokens: fc.integer({ min: 0, max: 40 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('refund' as const), which: fc.nat() }) },
  );

  /** The model: one log of { at, cost } per counter (creator's limit, or the budget's). */
  function model() {
    const logs = new Map<string, { at: number; cost: number }[]>();
    const used = (key: string, now: number) => (logs.get(key) ?? []).filter((e) => e.at > now - WINDOW).reduce((s, e) => s + e.cost, 0);
    const counters = (creator: number) => {
      const [id, plan] = CREATORS[creator]!;
      return [...Object.entries(SIZES[plan]!).map(([name, size]) => ({ key: `${id}:${name}`, name, size })), ...Object.entries(BUDGET).map(([name, size]) => ({ key: name, name, size }))];
    };
    return {
      charge(creator: number, tokens: number, now: number) {
        const touched = counters(creator).map((c) => ({ ...c, cost: unitOf(c.name) === 'tokens' ? tokens : 1 }));
        if (!touched.every((c) => used(c.key, now) + c.cost <= c.size)) return undefined;
        const entries = touched.map((c) => {
          const entry = { at: now, cost: c.cost };
          logs.set(c.key, [...(logs.get(c.key) ?? []), entry]);
          return { unit: unitOf(c.name), entry };
        });
        return entries;
      },
      used,
    };
  }

  const stores = Object.fromEntries(STORE_KINDS.map((k) => [k, () => makeStore(k)]));
  it.prop([fc.array(sharedOp, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 })], { numRuns: 40 })(
    'same answers and the same counts as the model',
    async (ops, start) => {
      for (const [kind, make] of Object.entries(stores)) {
        let now = start;
        const clock = () => now;
        const limiter = createRateLimiter({ plans: PLANS, shared: SHARED, store: make(), clock, reservationTtl: '1 h', logger: false, topConsumers: false, denyCache: false });
        const reference = model();
        const reservations: { reservation: Reservation; entries: { unit: string; entry: { cost: number } }[]; open: boolean }[] = [];
        const trace: unknown[] = [];
        const want: unknown[] = [];
        for (const op of ops) {
          if (op.op === 'advance') {
            now += op.ms;
            continue;
          }
          if (op.op === 'check' || op.op === 'reserve') {
            const [id, plan] = CREATORS[op.creator]!;
            const expected = reference.charge(op.creator, op.tokens, now);
            const got = await limiter[op.op](id, { plan, cost: { tokens: op.tokens } });
            trace.push([op.op, id, got.allowed]);
            want.push([op.op, id, expected !== undefined]);
            if (op.op === 'reserve' && got.allowed && expected) reservations.push({ reservation: (got as ReserveResult).reservation!, entries: expected, open: true });
            continue;
          }
          const which = (op as Extract<SharedOp, { which: number }>).which;
          const held = reservations.length > 0 ? reservations[which % reservations.length]! : undefined;
          if (!held) continue;
          const status = op.op === 'settle' ? await limiter.settle(held.reservation, { cost: { tokens: op.tokens } }) : await limiter.refund(held.reservation);
          trace.push([op.op, status.status]);
          want.push([op.op, held.open ? 'settled' : 'unknown']);
          if (held.open) {
            for (const e of held.entries) {
              if (op.op === 'refund') e.entry.cost = 0;
              else if (e.unit === 'tokens') e.entry.cost = (op as Extract<SharedOp, { op: 'settle' }>).tokens;
            }
            held.open = false;
          }
        }
        // and the counters: every creator's and the budget's, as the model has them
        for (const [c, [id, plan]] of CREATORS.entries()) {
          const state = await limiter.peek(id, { plan, cost: { tokens: 1 } });
          for (const l of state.limits) {
            trace.push([id, l.name, l.limit - l.remaining]);
            // remaining never goes below 0, though a settle may charge past the limit
            want.push([id, l.name, Math.min(l.limit, reference.used(l.name in BUDGET ? l.name : `${id}:${l.name}`, now))]);
          }
          void c;
        }
        await limiter.close();
        expect(trace, kind).toEqual(want);
      }
    },
  );
});
