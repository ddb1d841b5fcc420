// Rate limit response headers: the IETF httpapi draft's `RateLimit` / `RateLimit-Policy`
// (draft-ietf-httpapi-ratelimit-headers-10, structured fields), the de-facto
// `X-RateLimit-Limit` / `X-RateLimit-Remaining`, and `Retry-After` when a call was denied.
import type { RateLimitResult } from '../limiter';
import type { CompiledPlan } from '../policy';

/** One limit's state as the headers show it. */
export interface HeaderLimitState {
  /** The limit's name, used as the policy name. */
  readonly name: string;
  readonly unit: string;
  readonly limit: number;
  readonly remaining: number;
  /** Window length in ms (a calendar month counts as 31 days). */
  readonly windowMs: number;
  /** Epoch ms when capacity returns (see `LimitStatus.resetAt`). */
  readonly resetAt: number;
  /** ms until the call would have fitted; 0 when it did. */
  readonly retryAfterMs: number;
  readonly allowed: boolean;
  /** When the decision was made (store clock). */
  readonly now: number;
}

/** The limits of a result, with their windows taken from the plan. */
export function limitStates(result: RateLimitResult, plan: CompiledPlan | undefined): HeaderLimitState[] {
  return result.limits.map((l) => ({
    name: l.name,
    unit: l.unit,
    limit: l.limit,
    remaining: l.remaining,
    windowMs: plan?.limits.find((c) => c.name === l.name)?.windowMs ?? 0,
    resetAt: l.resetAt,
    retryAfterMs: l.retryAfterMs,
    allowed: l.allowed,
    now: result.now,
  }));
}

/**
 * Which of two states of the same limit is more restrictive: a denial over an allowance, then
 * the longer wait, then fewer units left, then the later reset.
 */
function tighter(a: HeaderLimitState, b: HeaderLimitState): HeaderLimitState {
  if (a.allowed !== b.allowed) return a.allowed ? b : a;
  if (a.retryAfterMs !== b.retryAfterMs) return a.retryAfterMs > b.retryAfterMs ? a : b;
  if (a.remaining !== b.remaining) return a.remaining < b.remaining ? a : b;
  return a.resetAt >= b.resetAt ? a : b;
}

/** Merges states by limit name, keeping the most restrictive of each. */
export function mergeStates(into: Map<string, HeaderLimitState>, states: readonly HeaderLimitState[]): void {
  for (const s of states) {
    const seen = into.get(s.name);
    into.set(s.name, seen ? tighter(seen, s) : s);
  }
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** A structured-field string item: `"name"`. */
const sfString = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/**
 * The header values for a set of limit states (one per limit).
 *
 * @example
 * // RateLimit-Policy: "burst";q=10;w=60, "hourly";q=50;w=3600, "tokens";q=20000;w=86400;qu="tokens"
 * // RateLimit: "burst";r=0;t=42, "hourly";r=40;t=3555, "tokens";r=17210;t=1
 * // X-RateLimit-Limit: 10
 * // X-RateLimit-Remaining: 0
 * // Retry-After: 42   (only when a call was denied)
 */
export function formatRateLimitHeaders(states: Iterable<HeaderLimitState>): Record<string, string> {
  const list = [...states];
  if (list.length === 0) return {};
  const policy = list.map((s) => {
    const unit = s.unit === 'requests' ? '' : `;qu=${sfString(s.unit)}`;
    return `${sfString(s.name)};q=${s.limit};w=${seconds(s.windowMs)}${unit}`;
  });
  const current = list.map((s) => `${sfString(s.name)};r=${s.remaining};t=${seconds(s.resetAt - s.now)}`);
  // the deciding limit: the denied one with the longest wait, else the one closest to empty
  const denied = list.filter((s) => !s.allowed);
  const decider = denied.length > 0
    ? denied.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a))
    : list.reduce((a, b) => (b.remaining / b.limit < a.remaining / a.limit ? b : a));
  const headers: Record<string, string> = {
    'RateLimit-Policy': policy.join(', '),
    RateLimit: current.join(', '),
    'X-RateLimit-Limit': String(decider.limit),
    'X-RateLimit-Remaining': String(decider.remaining),
  };
  if (denied.length > 0) headers['Retry-After'] = String(Math.max(1, seconds(decider.retryAfterMs)));
  return headers;
}
