// Rate limit response headers: the IETF httpapi draft's `RateLimit` / `RateLimit-Policy`
// (draft-ietf-httpapi-ratelimit-headers, structured fields), the de-facto
// `X-RateLimit-Limit` / `X-RateLimit-Remaining`, and `Retry-After` when a call was denied.
// What the draft asks and how it is met:
// - one policy item per limit, named `"<group>:<limit>"`: two limit groups (two rateLimited()
//   on one procedure, or in one batch) that share a limit name stay apart;
// - `qu` only for units other than the default `requests`; units the draft registers
//   (`content-bytes`, `concurrent-requests`) as they are, any other with a vendor prefix
//   (`"airl-tokens"`), as the draft asks of implementation-specific values;
// - `w` and `t` in whole seconds; `w` left out when the window is unknown (it must be > 0).
import type { CompiledPlan } from '../policy';
import { decidingIndex, type RateLimitResult } from '../result';

/** One limit's state as the headers show it. */
export interface HeaderLimitState {
  /** The rateLimited() group the limit was checked in. */
  readonly group: string;
  /** The limit's name; the policy is named `"<group>:<name>"`. */
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
export function limitStates(result: RateLimitResult, plan: CompiledPlan | undefined, group: string): HeaderLimitState[] {
  return result.limits.map((l) => ({
    group,
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

const policyName = (s: HeaderLimitState) => `${s.group}:${s.name}`;

/** Merges states by group and limit name, keeping the most restrictive of each. */
export function mergeStates(into: Map<string, HeaderLimitState>, states: readonly HeaderLimitState[]): void {
  for (const s of states) {
    const key = policyName(s);
    const seen = into.get(key);
    into.set(key, seen ? tighter(seen, s) : s);
  }
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** A structured-field string: printable ASCII only (others become `?`), `\\` and `"` escaped. */
const sfString = (value: string) => `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/[\\"]/g, (c) => `\\${c}`)}"`;

/** The quota units the draft registers besides the default `requests`. */
const REGISTERED_UNITS = new Set(['content-bytes', 'concurrent-requests']);

/** Options of {@link formatRateLimitHeaders}. */
export interface RateLimitHeaderOptions {
  /**
   * The vendor identifier that prefixes quota units the draft does not register:
   * a `tokens` limit is announced as `qu="<vendor>-tokens"`.
   * @default 'airl'
   */
  vendor?: string;
}

/** The `qu` parameter of a unit: none for `requests` (the default unit). */
function quotaUnit(unit: string, vendor: string): string {
  if (unit === 'requests') return '';
  return `;qu=${sfString(REGISTERED_UNITS.has(unit) ? unit : `${vendor}-${unit}`)}`;
}

/**
 * The header values for a set of limit states (one per limit).
 *
 * @example
 * // RateLimit-Policy: "ai:burst";q=10;w=60, "ai:hourly";q=50;w=3600, "ai:tokens";q=20000;w=86400;qu="airl-tokens"
 * // RateLimit: "ai:burst";r=0;t=42, "ai:hourly";r=40;t=3555, "ai:tokens";r=17210;t=1
 * // X-RateLimit-Limit: 10
 * // X-RateLimit-Remaining: 0
 * // Retry-After: 42   (only when a call was denied)
 */
export function formatRateLimitHeaders(states: Iterable<HeaderLimitState>, options: RateLimitHeaderOptions = {}): Record<string, string> {
  const vendor = options.vendor ?? 'airl';
  const list = [...states];
  if (list.length === 0) return {};
  const policy = list.map((s) => {
    const window = s.windowMs > 0 ? `;w=${seconds(s.windowMs)}` : '';
    return `${sfString(policyName(s))};q=${s.limit}${window}${quotaUnit(s.unit, vendor)}`;
  });
  const current = list.map((s) => `${sfString(policyName(s))};r=${s.remaining};t=${seconds(s.resetAt - s.now)}`);
  const decider = list[decidingIndex(list.map((s) => ({ fits: s.allowed, remaining: s.remaining, limit: s.limit, waitMs: s.retryAfterMs })))]!;
  const headers: Record<string, string> = {
    'RateLimit-Policy': policy.join(', '),
    RateLimit: current.join(', '),
    'X-RateLimit-Limit': String(decider.limit),
    'X-RateLimit-Remaining': String(decider.remaining),
  };
  if (!decider.allowed) headers['Retry-After'] = String(Math.max(1, seconds(decider.retryAfterMs)));
  return headers;
}
