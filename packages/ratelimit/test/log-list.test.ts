// Model-based, for the sliding log's list (src/lua/include/sliding-log.lua): what the general
// model test reaches rarely. Logs grow past the header's cache (entries move into it in chunks),
// time steps back as well as forward (callers' clocks apart: an older entry is inserted in
// order), reservations settle and refund both in the body and in the cache, and plans of one log
// take the short path (log_check) beside plans of two (the general path). Any difference from
// the pure model fails.
import { fc, it } from '@fast-check/vitest';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';

import { emptyState, evaluate, type EvaluateOutput, reset, settle } from '../src/model';
import { compilePolicy } from '../src/policy';
import { createRedisStore } from '../src/redis';
import type { Store } from '../src/stores/types';
import { client, makeStore, prefix } from './fixtures/stores';

const policy = compilePolicy({
  all: {
    limits: [
      { name: 'long', limit: 60, window: '10 m' },
      { name: 'weighted', limit: 200, window: '12 m', unit: 'tokens' },
    ],
  },
});
const LIMITS = policy.plans.get('all')!.limits;
const STATE_TTL = policy.maxTtlMs;
const RESERVATION_TTL = 25 * 60_000;

type CoreStore = Pick<Store, 'evaluate' | 'settle' | 'reset'>;

type Op =
  | { op: 'step'; ms: number }
  | { op: 'check' | 'peek' | 'reserve'; limits: number[]; costs: number[] }
  | { op: 'settle'; which: number; costs: (number | undefined)[] }
  | { op: 'reset'; limit: number | undefined };

function modelStore(): CoreStore {
  const state = emptyState();
  return {
    evaluate: (r) => Promise.resolve(evaluate(state, { ...r, now: r.now! })),
    settle: (r) => Promise.resolve({ status: settle(state, { ...r, now: r.now! }), now: r.now!, anomalies: [] }),
    reset: (r) => Promise.resolve(reset(state, r.all ? undefined : r.limits.map((l) => l.name))),
  };
}

const limitsArb = fc.constantFrom<number[]>([0], [1], [0, 1], [1, 0]);
const evaluation = (op: 'check' | 'peek' | 'reserve') =>
  limitsArb.chain((limits) =>
    fc
      .tuple(...limits.map((i) => fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: LIMITS[i]!.limit }) })))
      .filter((c) => c.some((x) => x > 0))
      .map((costs): Op => ({ op, limits, costs })),
  );
const opArb: fc.Arbitrary<Op> = fc.oneof(
  // mostly short steps (logs of tens of entries, expiring one by one), some back (down to a
  // window), some past a window
  {
    weight: 5,
    arbitrary: fc
      .oneof(
        { weight: 8, arbitrary: fc.integer({ min: 0, max: 20_000 }) },
        { weight: 2, arbitrary: fc.integer({ min: -60_000, max: -1 }) },
        { weight: 1, arbitrary: fc.integer({ min: -12 * 60_000, max: 12 * 60_000 }) },
      )
      .map((ms): Op => ({ op: 'step', ms })),
  },
  { weight: 8, arbitrary: evaluation('check') },
  { weight: 1, arbitrary: evaluation('peek') },
  { weight: 2, arbitrary: evaluation('reserve') },
  { weight: 2, arbitrary: fc.record({ which: fc.nat(), costs: fc.array(fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }), { minLength: 2, maxLength: 2 }) }).map((r): Op => ({ op: 'settle', ...r })) },
  { weight: 1, arbitrary: fc.option(fc.integer({ min: 0, max: 1 }), { nil: undefined }).map((limit): Op => ({ op: 'reset', limit })) },
);

async function run(store: CoreStore, ops: readonly Op[], start: number) {
  let now = start;
  const trace: unknown[] = [];
  const reservations: { id: string; expiresAt: number }[] = [];
  const identifier = `log-list-${Math.random()}`;
  for (const op of ops) {
    switch (op.op) {
      case 'step':
        now = Math.max(start, now + op.ms);
        break;
      case 'check':
      case 'peek':
      case 'reserve': {
        const limits = op.limits.map((i) => LIMITS[i]!);
        const out: EvaluateOutput = await store.evaluate({ identifier, limits, costs: op.costs, mode: op.op, now, reservationTtlMs: RESERVATION_TTL, stateTtlMs: STATE_TTL });
        if (out.reservation) reservations.push(out.reservation);
        trace.push(out);
        break;
      }
      case 'settle': {
        if (reservations.length === 0) break;
        const { id, expiresAt } = reservations[op.which % reservations.length]!;
        const costs = new Map<string, number>();
        LIMITS.forEach((l, i) => {
          if (op.costs[i] !== undefined) costs.set(l.name, op.costs[i]);
        });
        trace.push(await store.settle({ identifier, reservationId: id, expiresAt, limits: LIMITS, costs, now, stateTtlMs: STATE_TTL }));
        break;
      }
      case 'reset':
        await store.reset({ identifier, limits: op.limit === undefined ? LIMITS : [LIMITS[op.limit]!], all: op.limit === undefined, stateTtlMs: STATE_TTL });
        trace.push('reset');
        break;
    }
  }
  return trace;
}

describe('a sliding log as a list agrees with the pure model', () => {
  const stores: Record<string, CoreStore> = {
    redis: makeStore('redis'),
    'redis (eval)': createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s', scripts: 'eval' }),
    cluster: makeStore('cluster'),
  };
  // calls whose time steps back after a settle or a peek at an entry's expiry (found by the
  // property below): the settle and the peek drop nothing, so the entry counts again
  it.each<[string, Op]>([
    ['a settle', { op: 'settle', which: 0, costs: [undefined, 0] }],
    ['a peek', { op: 'peek', limits: [1], costs: [1] }],
  ])('an entry seen expired by %s counts again for a call 1 ms older', async (_, seen) => {
    const ops: Op[] = [
      { op: 'reserve', limits: [1], costs: [1] },
      { op: 'step', ms: 12 * 60_000 },
      seen,
      { op: 'step', ms: -1 },
      { op: 'check', limits: [1, 0], costs: [1, 0] },
      { op: 'check', limits: [1], costs: [1] },
    ];
    const expected = await run(modelStore(), ops, 1_700_000_000_000);
    expect((expected.at(-1) as EvaluateOutput).limits[0]!.remaining).toBe(197);
    for (const [kind, store] of Object.entries(stores)) expect(await run(store, ops, 1_700_000_000_000), kind).toEqual(expected);
  });
  it.prop([fc.array(opArb, { minLength: 20, maxLength: 200, size: 'max' }), fc.integer({ min: 1_700_000_000_000, max: 1_800_000_000_000 })], { numRuns: 60 })(
    'long logs, time stepping back, settles in the cache and in the list',
    async (ops, start) => {
      const expected = await run(modelStore(), ops, start);
      for (const [kind, store] of Object.entries(stores)) {
        expect(await run(store, ops, start), kind).toEqual(expected);
      }
    },
  );
});

describe('a call that fails on a counter keeps the log whole', () => {
  // a checked log's header is taken (RPOP) and written back in the same script; a counter field
  // that fails to unpack must fail the call before that, not between (the script is not undone)
  const both = compilePolicy({
    both: { limits: [{ name: 'minute', limit: 6, window: '1 m' }, { name: 'tokens', limit: 40, window: '1 h', unit: 'tokens', algorithm: 'sliding-window' }] },
  }).plans.get('both')!.limits;
  it.each(['check', 'reserve'] as const)('%s: the call fails, and the log still counts every earlier call', async (mode) => {
    const p = prefix();
    const redis = client('redis') as Redis;
    const store = createRedisStore({ client: redis, prefix: p, timeout: '20 s', batch: 1 });
    const request = (now: number) => ({ identifier: 'x', limits: both, costs: [1, 1], mode, now, reservationTtlMs: RESERVATION_TTL, stateTtlMs: STATE_TTL });
    for (let i = 0; i < 3; i++) expect((await store.evaluate(request(1_700_000_000_000 + i))).allowed).toBe(true);
    await redis.hset(`${p}:{x}`, 'tokens.sw', 'not a counter');
    await expect(store.evaluate(request(1_700_000_000_010))).rejects.toThrow();
    await redis.hdel(`${p}:{x}`, 'tokens.sw');
    const after = await store.evaluate(request(1_700_000_000_020));
    expect(after.limits[0]!.remaining).toBe(2);
  });
});
