// What answers for the store when it cannot: each plan's `whenStoreFails` policy. The in-memory
// fallback keeps the promise of the limits during an outage: it starts from what this instance
// last knew of each identifier, and gets a share of each limit (the live instances, counted
// through the store's presence record while it was up, split it), so that N instances together
// admit at most about the limit. A call whose outcome is unknown (it failed while the store was
// not known to be down: it may have been applied) is counted as charged.
import type { CheckOptions, Cost, FallbackBudget, RateLimiter, RateLimitResult, Reservation, SettleResult } from '../limiter/types';
import type { LimitOutcome, Mode } from '../model';
import type { CompiledPlan, CompiledPolicy, FailureMode } from '../policy';
import { refusal, shape } from '../result';
import { createMemoryStore, type MemoryStore } from '../stores/memory';

/** What a call that failed on a store not known to be down gets: it may be retried in this long. */
export const SLOW_RETRY_MS = 1000;

export interface Answer {
  result: RateLimitResult;
  reservation?: Reservation | undefined;
  source: string;
}

export interface FallbackOptions {
  readonly budget: FallbackBudget;
  readonly defaultMode: FailureMode;
  /** The fallback's plans (the limiter's, with `fallbackPlans` over them), compiled. */
  readonly policy: CompiledPolicy;
  /** Makes the in-memory limiter on a store. */
  readonly make: (store: MemoryStore) => RateLimiter<string>;
  /** The limiter's clock (local epoch ms). */
  readonly now: () => number;
  /** Identifier + plan pairs remembered at most. */
  readonly maxRemembered: number;
  readonly reservationTtlMs: number;
  readonly stateTtlMs: number;
}

/** What is known of an identifier on one plan. */
interface Known {
  /** The plan as last answered: `values` goes by the positions of its limits. */
  plan: CompiledPlan;
  /** Local ms of the store's last answer. */
  at: number;
  /** Per limit, in order: remaining then (NaN: never seen), and charges of unknown outcome since. */
  values: number[];
}

/**
 * What is known of one identifier: its first plan's record in place, any other plan's in `more`
 * (an identifier seldom has two); a link in the list of identifiers by last answer.
 */
interface Identifier {
  identifier: string;
  first: Known | undefined;
  more: Map<string, Known> | undefined;
  older: Identifier;
  newer: Identifier;
}

export interface Fallback {
  /** The store answered: remember where the identifier stands. */
  remember(plan: CompiledPlan, identifier: string, outcomes: readonly LimitOutcome[]): void;
  /** A call failed with an unknown outcome: count it as charged. */
  uncertain(plan: CompiledPlan, identifier: string, costs: readonly number[]): void;
  /** The live instances, as last counted. */
  setInstances(count: number): void;
  /** The plan's policy answers for a store known to be down (until `retryAt`, local ms). */
  outage(mode: Mode, identifier: string, plan: CompiledPlan, cost: Cost | undefined, retryAt: number): Promise<Answer>;
  /**
   * The answer to a call that failed while its shard was not known to be down (slow, or one
   * failure): `'open'` plans allow it; `'closed'` and `'fallback'` plans deny it, to be retried
   * in {@link SLOW_RETRY_MS}. Never a fresh budget.
   */
  slow(plan: CompiledPlan): Answer;
  /** Settles or refunds a reservation the fallback made (id without its `f:` prefix). */
  settle(reservation: Reservation, cost: Cost | undefined, refund: boolean): Promise<SettleResult>;
  /** Every shard is back: the next outage starts from what is known then. */
  recovered(): void;
  close(): Promise<void>;
}

export function createFallback(o: FallbackOptions): Fallback {
  // by identifier (a string whose hash is already known: no key to build per call), linked from
  // the least recently answered to the most: every answer moves its identifier to the end in
  // place, and the oldest go first (a Map's own order would cost a delete and a set per answer,
  // and scanning past their holes to find the oldest)
  const known = new Map<string, Identifier>();
  // both ends of the list in one link: ends.newer is the oldest identifier, ends.older the newest
  const ends = { identifier: '', first: undefined, more: undefined } as Identifier;
  ends.older = ends.newer = ends;
  /** Identifier + plan pairs remembered. */
  let pairs = 0;
  let instances = 1;
  let memory: MemoryStore | undefined;
  let limiter: RateLimiter<string> | undefined;
  /** `identifier \0 limit` already started from what was known, in this outage. */
  const seeded = new Set<string>();

  const unlink = (id: Identifier) => {
    id.older.newer = id.newer;
    id.newer.older = id.older;
  };

  /** Forgets an identifier: off the list, out of the map, its pairs no longer counted. */
  const forget = (id: Identifier) => {
    unlink(id);
    known.delete(id.identifier);
    pairs -= (id.first ? 1 : 0) + (id.more?.size ?? 0);
  };

  /** Nothing known of `plan`'s limits yet (values NaN and 0, as of now), in k or a new record. */
  const blank = (plan: CompiledPlan, k?: Known): Known => {
    const n = plan.limits.length;
    const record = k?.values.length === 2 * n ? k : { plan, at: 0, values: new Array<number>(2 * n) };
    record.plan = plan;
    record.at = o.now();
    for (let i = 0; i < 2 * n; i += 2) {
      record.values[i] = NaN;
      record.values[i + 1] = 0;
    }
    return record;
  };

  /**
   * A link for a new identifier: at capacity, the oldest one's, forgotten, keeping only its first
   * plan's record, reset, for `plan` (with many identifiers, each answer would otherwise make
   * objects for the collector).
   */
  const link = (identifier: string, plan: CompiledPlan): Identifier => {
    const oldest = ends.newer;
    if (pairs < o.maxRemembered || oldest === ends) return { identifier, first: undefined, more: undefined, older: ends, newer: ends };
    forget(oldest);
    oldest.identifier = identifier;
    oldest.more = undefined;
    if (oldest.first?.plan.name === plan.name) {
      oldest.first = blank(plan, oldest.first);
      pairs++;
    } else oldest.first = undefined;
    return oldest;
  };

  /** What is known of an identifier on a plan (made when absent); the identifier is now the most recent. */
  const entry = (plan: CompiledPlan, identifier: string): Known => {
    let id = known.get(identifier);
    if (id) unlink(id);
    else known.set(identifier, (id = link(identifier, plan)));
    id.older = ends.older;
    id.newer = ends;
    ends.older.newer = id;
    ends.older = id;
    const k = id.first?.plan.name === plan.name ? id.first : id.more?.get(plan.name);
    if (k?.plan === plan) return k;
    // new, or another compilation of the plan: a limiter's plans are compiled once (live plans
    // make a new limiter, with its own fallback), so this is only a guard that values never go by
    // another plan's positions
    const record = blank(plan, k);
    if (!id.first || id.first.plan.name === plan.name) id.first = record;
    else (id.more ??= new Map()).set(plan.name, record);
    if (!k) {
      pairs++;
      for (let oldest = ends.newer; pairs > o.maxRemembered && oldest !== id; oldest = ends.newer) forget(oldest);
    }
    return record;
  };

  /** The record of `identifier` on the plan named `plan`, if any. */
  const find = (identifier: string, plan: string): Known | undefined => {
    const id = known.get(identifier);
    return id?.first?.plan.name === plan ? id.first : id?.more?.get(plan);
  };

  const inner = () => {
    memory ??= createMemoryStore();
    return (limiter ??= o.make(memory));
  };

  /** Charges what this instance may not use of each limit before the fallback's first answer. */
  async function seed(identifier: string, plan: CompiledPlan) {
    const fallbackPlan = o.policy.plans.get(plan.name) ?? plan;
    const k = find(identifier, plan.name);
    const now = o.now();
    inner();
    for (const l of fallbackPlan.limits) {
      const key = `${identifier}\u0000${l.name}`;
      if (seeded.has(key)) continue;
      seeded.add(key);
      // by name: the fallback's plan may differ from the one answered
      const i = k && now - k.at < l.windowMs ? 2 * k.plan.limits.findIndex((x) => x.name === l.name) : -2;
      const last = i >= 0 ? k!.values[i]! : NaN;
      const remaining = Math.min(Number.isNaN(last) ? l.limit : last, l.limit);
      const share = Math.max(0, Math.floor(remaining / instances) - (i >= 0 ? k!.values[i + 1]! : 0));
      const used = l.limit - share;
      if (used <= 0) continue;
      await memory!.evaluate({ identifier, limits: [l], costs: [used], mode: 'check', now, reservationTtlMs: o.reservationTtlMs, stateTtlMs: o.stateTtlMs });
    }
  }

  return {
    remember(plan, identifier, outcomes) {
      const k = entry(plan, identifier);
      k.at = o.now();
      // on every answer of the store: updated in place
      const values = k.values;
      for (let i = 0; i < plan.limits.length; i++) {
        values[2 * i] = outcomes[i]!.remaining;
        values[2 * i + 1] = 0;
      }
    },
    uncertain(plan, identifier, costs) {
      const values = entry(plan, identifier).values;
      for (let i = 0; i < plan.limits.length; i++) values[2 * i + 1]! += costs[i]!;
    },
    setInstances(count) {
      instances = Math.max(1, Math.floor(count));
    },
    async outage(mode, identifier, plan, cost, retryAt) {
      const policyMode = plan.whenStoreFails ?? o.defaultMode;
      const at = o.now();
      if (policyMode === 'closed') {
        return { result: refusal(plan, 'store-unavailable', at, Math.max(retryAt, at + SLOW_RETRY_MS), 'closed'), source: 'fail-closed' };
      }
      if (policyMode === 'open') {
        const outcomes = plan.limits.map((l) => ({ fits: true, remaining: l.limit, resetAt: at }));
        return { result: shape(plan, outcomes, true, at, 'open'), source: 'fail-open' };
      }
      if (o.budget === 'shared') await seed(identifier, plan);
      const options: CheckOptions = { plan: plan.name, ...(cost !== undefined && { cost }) };
      const f = inner();
      if (mode === 'reserve') {
        const { reservation, ...result } = await f.reserve(identifier, options);
        return { result: { ...result, degraded: 'fallback' }, reservation: reservation && { ...reservation, id: `f:${reservation.id}` }, source: 'fallback' };
      }
      const result = await (mode === 'check' ? f.check(identifier, options) : f.peek(identifier, options));
      return { result: { ...result, degraded: 'fallback' }, source: 'fallback' };
    },
    slow(plan) {
      const policyMode = plan.whenStoreFails ?? o.defaultMode;
      const at = o.now();
      if (policyMode === 'open') {
        const outcomes = plan.limits.map((l) => ({ fits: true, remaining: l.limit, resetAt: at }));
        return { result: shape(plan, outcomes, true, at, 'open'), source: 'fail-open' };
      }
      return { result: refusal(plan, 'store-unavailable', at, at + SLOW_RETRY_MS, policyMode), source: 'store-slow' };
    },
    settle(reservation, cost, refund) {
      const f = inner();
      return refund || cost === undefined ? f.refund(reservation) : f.settle(reservation, { cost });
    },
    recovered() {
      seeded.clear();
      const old = limiter;
      limiter = undefined;
      memory = undefined;
      void old?.close();
    },
    async close() {
      await limiter?.close();
    },
  };
}
