// Turns per-limit outcomes into the answer callers see. Pure: used by the limiter and by the
// failure policies that answer for the store.
import type { LimitStatus, RateLimitResult } from './limiter';
import type { LimitOutcome } from './model';
import type { CompiledPlan, FailureMode } from './policy';

export function shape(plan: CompiledPlan, outcomes: readonly LimitOutcome[], allowed: boolean, at: number, degraded?: FailureMode): RateLimitResult {
  const limits = plan.limits.map((l, i): LimitStatus => {
    const o = outcomes[i]!;
    return {
      name: l.name,
      unit: l.unit,
      limit: l.limit,
      allowed: o.fits,
      remaining: o.remaining,
      resetAt: o.resetAt,
      retryAfterMs: o.fits ? 0 : Math.max(0, o.resetAt - at),
    };
  });
  let decider = limits[0]!;
  for (const l of limits) {
    if (allowed ? l.remaining / l.limit < decider.remaining / decider.limit : l.retryAfterMs > decider.retryAfterMs) decider = l;
  }
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
export function refusal(plan: CompiledPlan, deniedBy: string, at: number, until: number, degraded?: FailureMode): RateLimitResult {
  const wait = Math.max(1, until - at);
  const outcomes = plan.limits.map(() => ({ fits: false, remaining: 0, resetAt: at + wait }));
  return { ...shape(plan, outcomes, false, at, degraded), deniedBy, retryAfterMs: wait, resetAt: at + wait };
}
