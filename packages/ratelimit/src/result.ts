// The one place that turns per-limit outcomes into the answer callers see, and the one rule for
// which limit decides it. Pure (types and arithmetic only): used by the model, the stores, the
// limiter, the failure policies and the tRPC headers.
import type { LimitOutcome } from './algorithms/types';
import type { FailureMode, PlanLimits } from './plan';

/** One limit's state after a call. */
export interface LimitStatus {
  /** The limit's name in the plan. */
  readonly name: string;
  /** What it counts: `requests`, `tokens`, ... */
  readonly unit: string;
  /** Its size. */
  readonly limit: number;
  /** Whether this call's cost fitted in it. */
  readonly allowed: boolean;
  /** Units left now (after this call, when it was charged). */
  readonly remaining: number;
  /**
   * Epoch ms (store clock) when capacity returns: when denied, the first moment the same call
   * would fit; otherwise when `remaining` next grows by one (now, when nothing is used).
   */
  readonly resetAt: number;
  /** ms until this call would fit in this limit: 0 when it fits. */
  readonly retryAfterMs: number;
}

/** The answer to a check or a peek. */
export interface RateLimitResult {
  /** Every limit had room (and, for `check`, every one was charged). */
  readonly allowed: boolean;
  /** The plan applied: the one asked for, or an admin's override. */
  readonly plan: string;
  /** The deciding limit's size: the one that denied (the longest wait), else the one closest to empty. */
  readonly limit: number;
  /** The deciding limit's units left. */
  readonly remaining: number;
  /** The deciding limit's `resetAt`; when denied, the moment the call would fit in every limit. */
  readonly resetAt: number;
  /** ms until the call would fit in every limit: 0 when allowed. */
  readonly retryAfterMs: number;
  /**
   * What denied: a limit's name (the one with the longest wait), `'blocked'` (an admin's block),
   * or `'store-unavailable'` (the store is down and the plan fails closed, or a call failed on a
   * store not known to be down: see `whenStoreFails`). Undefined when allowed.
   */
  readonly deniedBy: string | undefined;
  /** Every limit of the plan, in plan order. */
  readonly limits: readonly LimitStatus[];
  /**
   * Set when a shared budget denied (its limit, or the identifier's fair share of it, named by
   * `deniedBy`): a platform-wide limit, not the identifier's plan.
   */
  readonly sharedBudget?: string | undefined;
  /** The time the decision was made at (store clock, epoch ms). */
  readonly now: number;
  /** Set when the store was unavailable and the plan's failure policy answered instead. */
  readonly degraded: FailureMode | undefined;
}

/** What the deciding-limit rule reads of a limit. */
export interface Standing {
  /** The call fits in it. */
  readonly fits: boolean;
  readonly remaining: number;
  /** The limit's size. */
  readonly limit: number;
  /** ms until the call would fit in it (0 when it fits). */
  readonly waitMs: number;
}

/**
 * The deciding limit, by index: when some limit denies, the denying one with the longest wait;
 * else the one closest to empty (the smallest share left). The first of equals; -1 for none.
 */
export function decidingIndex(limits: readonly Standing[]): number {
  let best = -1;
  let denied = false;
  for (const l of limits) if (!l.fits) denied = true;
  for (let i = 0; i < limits.length; i++) {
    const l = limits[i]!;
    if (denied && l.fits) continue;
    if (best === -1) best = i;
    else if (denied ? l.waitMs > limits[best]!.waitMs : l.remaining / l.limit < limits[best]!.remaining / limits[best]!.limit) best = i;
  }
  return best;
}

/** {@link decidingIndex} over a store's outcomes (one per limit, in plan order) at time `at`. */
export function decidingOutcome(outcomes: readonly LimitOutcome[], sizes: readonly { readonly limit: number }[], at: number): number {
  return decidingIndex(outcomes.map((o, i) => ({ fits: o.fits, remaining: o.remaining, limit: sizes[i]!.limit, waitMs: o.fits ? 0 : o.resetAt - at })));
}

export function shape(plan: PlanLimits, outcomes: readonly LimitOutcome[], allowed: boolean, at: number, degraded?: FailureMode): RateLimitResult {
  const limits: LimitStatus[] = [];
  for (let i = 0; i < plan.limits.length; i++) {
    const l = plan.limits[i]!;
    const o = outcomes[i]!;
    limits.push({
      name: l.name,
      unit: l.unit,
      limit: l.limit,
      allowed: o.fits,
      remaining: o.remaining,
      resetAt: o.resetAt,
      retryAfterMs: o.fits ? 0 : Math.max(0, o.resetAt - at),
    });
  }
  // every answer is shaped here: a one-limit plan has nothing to choose from
  const decider = limits.length === 1 ? limits[0]! : limits[decidingIndex(limits.map((l) => ({ fits: l.allowed, remaining: l.remaining, limit: l.limit, waitMs: l.retryAfterMs })))]!;
  return {
    allowed,
    plan: plan.name,
    limit: decider.limit,
    remaining: decider.remaining,
    resetAt: allowed ? decider.resetAt : at + decider.retryAfterMs,
    retryAfterMs: allowed ? 0 : decider.retryAfterMs,
    deniedBy: allowed ? undefined : decider.name,
    limits,
    now: at,
    degraded,
  };
}

/** A denial that did not come from the limits: a block, or a store failing closed. */
export function refusal(plan: PlanLimits, deniedBy: string, at: number, until: number, degraded?: FailureMode): RateLimitResult {
  const wait = Math.max(1, until - at);
  const outcomes = plan.limits.map(() => ({ fits: false, remaining: 0, resetAt: at + wait }));
  return { ...shape(plan, outcomes, false, at, degraded), deniedBy, retryAfterMs: wait, resetAt: at + wait };
}
