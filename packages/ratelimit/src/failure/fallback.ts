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

interface Known {
  /** Local ms of the store's last answer. */
  at: number;
  /** By limit name: remaining then (undefined: never seen), and charges of unknown outcome since. */
  limits: Map<string, { remaining: number | undefined; uncertain: number }>;
}

/** What is known of one identifier, by plan name; a link in the list of identifiers by last answer. */
interface Identifier {
  identifier: string;
  readonly plans: Map<string, Known>;
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
  const ends = { identifier: '', plans: new Map() } as Identifier;
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
    pairs -= id.plans.size;
  };

  /**
   * A link for a new identifier, on `plan`: at capacity, the oldest one's, forgotten, keeping only
   * its record of that plan, reset to nothing known (with many identifiers, each answer would
   * otherwise make four objects for the collector).
   */
  const link = (identifier: string, plan: string): Identifier => {
    const oldest = ends.newer;
    if (pairs < o.maxRemembered || oldest === ends) return { identifier, plans: new Map(), older: ends, newer: ends };
    forget(oldest);
    oldest.identifier = identifier;
    const k = oldest.plans.get(plan);
    if (oldest.plans.size > 1 || !k) oldest.plans.clear();
    if (k) {
      oldest.plans.set(plan, k);
      pairs++;
      k.at = o.now();
      for (const m of k.limits.values()) {
        m.remaining = undefined;
        m.uncertain = 0;
      }
    }
    return oldest;
  };

  /** What is known of an identifier on a plan (made when absent); the identifier is now the most recent. */
  const entry = (plan: CompiledPlan, identifier: string): Known => {
    let id = known.get(identifier);
    if (id) unlink(id);
    else known.set(identifier, (id = link(identifier, plan.name)));
    id.older = ends.older;
    id.newer = ends;
    ends.older.newer = id;
    ends.older = id;
    let k = id.plans.get(plan.name);
    if (!k) {
      id.plans.set(plan.name, (k = { at: o.now(), limits: new Map() }));
      pairs++;
      for (let oldest = ends.newer; pairs > o.maxRemembered && oldest !== id; oldest = ends.newer) forget(oldest);
    }
    return k;
  };

  const inner = () => {
    memory ??= createMemoryStore();
    return (limiter ??= o.make(memory));
  };

  /** Charges what this instance may not use of each limit before the fallback's first answer. */
  async function seed(identifier: string, plan: CompiledPlan) {
    const fallbackPlan = o.policy.plans.get(plan.name) ?? plan;
    const k = known.get(identifier)?.plans.get(plan.name);
    const now = o.now();
    inner();
    for (const l of fallbackPlan.limits) {
      const key = `${identifier}\u0000${l.name}`;
      if (seeded.has(key)) continue;
      seeded.add(key);
      const last = k && now - k.at < l.windowMs ? k.limits.get(l.name) : undefined;
      const remaining = Math.min(last?.remaining ?? l.limit, l.limit);
      const share = Math.max(0, Math.floor(remaining / instances) - (last?.uncertain ?? 0));
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
      for (let i = 0; i < plan.limits.length; i++) {
        const name = plan.limits[i]!.name;
        const m = k.limits.get(name);
        if (m) {
          m.remaining = outcomes[i]!.remaining;
          m.uncertain = 0;
        } else k.limits.set(name, { remaining: outcomes[i]!.remaining, uncertain: 0 });
      }
    },
    uncertain(plan, identifier, costs) {
      const k = entry(plan, identifier);
      plan.limits.forEach((l, i) => {
        const m = k.limits.get(l.name);
        if (m) m.uncertain += costs[i]!;
        else k.limits.set(l.name, { remaining: undefined, uncertain: costs[i]! });
      });
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
