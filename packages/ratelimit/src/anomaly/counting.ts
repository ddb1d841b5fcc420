// The counting: per identifier, exact counts per tenth of a window (burst, denial storm) and the
// hour's cost against the normal hour (cost spike); observe() counts a call and returns the rules
// that fired, once per episode. Pure math, mirrored by src/lua/include/anomaly.lua.
import { HOUR_MS } from '../time';
import type { AnomalyRule, CompiledRules } from './rules';

/** Steps per window of the burst and denial-storm counters: a call counts for its step and the next `STEPS`. */
export const STEPS = 10;
/** What the normal hour (the cost baseline) keeps of itself per active hour. */
export const BASELINE_KEEP = 0.9;
/**
 * Standard deviations of chance a cost-spike threshold allows above `factor` x the normal hour:
 * the hour's calls vary like a Poisson count, so `factor` x a normal hour of n calls of cost c
 * can come out `NOISE_SIGMAS` x sqrt(factor x n) calls higher, c each, by chance alone.
 */
export const NOISE_SIGMAS = 3;

/**
 * Exact counts per step (a tenth of the window) of the last `STEPS + 1` steps, in a ring
 * (step s at slot s mod (STEPS + 1)), and when the episode ends.
 */
export interface Stepped {
  step: number;
  counts: number[];
  until: number;
}

export interface AnomalyState {
  burst: Stepped | undefined;
  storm: Stepped | undefined;
  /**
   * This clock hour's cost, the normal hour, active hours seen, episode end, this hour's costly
   * calls, and the cost per call of the hour that set the normal hour (its noise scale).
   */
  spike: { hour: number; cost: number; baseline: number; hours: number; until: number; calls: number; perCall: number } | undefined;
}

export function emptyAnomalyState(): AnomalyState {
  return { burst: undefined, storm: undefined, spike: undefined };
}

/** What fired: rule, measured value, threshold. */
export type Fired = { rule: AnomalyRule; value: number; threshold: number };

/** Counts `add` at `now` and returns the calls in the current step and the `STEPS` before it. */
export function stepCount(s: Stepped, windowMs: number, now: number, add: number): number {
  const step = Math.floor((now * STEPS) / windowMs);
  const slots = STEPS + 1;
  if (step > s.step) {
    for (let k = s.step + 1; k <= step && k <= s.step + slots; k++) s.counts[k % slots] = 0;
    s.step = step;
  }
  // a call stamped in the past (another instance's clock, hits reported late) counts in its own
  // step, or not at all once that step has left the ring
  if (add !== 0 && step >= s.step - STEPS) s.counts[step % slots]! += add;
  return s.counts.reduce((a, b) => a + b, 0);
}

/** A costly call, a settle's difference from its estimate, or deny-cache hits reported late. */
export interface Observed {
  now: number;
  /** Whether the call was allowed (only allowed calls cost). */
  allowed: boolean;
  /** Cost in the cost-spike unit (negative for a settle below the estimate or a refund). */
  cost: number;
  /** Denials answered from a deny cache meanwhile, counted as calls and denials. */
  pendingDenied: number;
  /** Calls this counts itself: 1 for a check or reserve, 0 for a settle or a report of hits. */
  calls?: number;
}

/**
 * Counts one call (and `pendingDenied` denials answered from a deny cache) and returns the rules
 * that fired: each once per episode (it fires when its value goes over the threshold, and the
 * episode lasts until the value has stayed at or under it for a window, an hour for cost).
 */
export function observe(state: AnomalyState, rules: CompiledRules, call: Observed): Fired[] {
  const { now, allowed, cost, pendingDenied } = call;
  const calls = call.calls ?? 1;
  const fired: Fired[] = [];
  const stepped = (rule: 'burst' | 'denial-storm', r: { windowMs: number; threshold: number }, key: 'burst' | 'storm', add: number) => {
    const s = (state[key] ??= { step: Math.floor((now * STEPS) / r.windowMs), counts: new Array<number>(STEPS + 1).fill(0), until: 0 });
    const count = stepCount(s, r.windowMs, now, add);
    if (count > r.threshold) {
      if (now >= s.until) fired.push({ rule, value: count, threshold: r.threshold });
      s.until = now + r.windowMs;
    }
  };
  if (rules.burst) stepped('burst', rules.burst, 'burst', calls + pendingDenied);
  if (rules.denialStorm) stepped('denial-storm', rules.denialStorm, 'storm', (allowed ? 0 : calls) + pendingDenied);
  if (rules.costSpike) {
    const r = rules.costSpike;
    const hour = Math.floor(now / HOUR_MS);
    const s = (state.spike ??= { hour, cost: 0, baseline: 0, hours: 0, until: 0, calls: 0, perCall: 0 });
    if (hour > s.hour) {
      // only active hours count: an idle hour says nothing about a normal one
      if (s.cost > 0) {
        if (s.hours === 0 || s.cost >= s.baseline * BASELINE_KEEP) {
          s.baseline = s.cost;
          s.perCall = s.cost / Math.max(s.calls, 1);
        } else s.baseline = s.baseline * BASELINE_KEEP;
        s.hours += 1;
      }
      s.cost = 0;
      s.calls = 0;
      s.hour = hour;
    }
    if (allowed && hour === s.hour) {
      s.cost = Math.max(0, s.cost + cost);
      if (cost > 0) s.calls += calls;
    }
    // factor x normal, plus what chance adds to it (see NOISE_SIGMAS); the same order of
    // operations as anomaly.lua, so both stores compute the same double
    const threshold = Math.max(r.factor * s.baseline + NOISE_SIGMAS * Math.sqrt(r.factor * s.baseline * s.perCall), r.minCost);
    if (s.hours >= r.minHours && s.cost > threshold) {
      if (now >= s.until) fired.push({ rule: 'cost-spike', value: s.cost, threshold: Math.floor(threshold) });
      s.until = now + HOUR_MS;
    }
  }
  return fired;
}

/** What a settle or refund changed in the cost-spike unit (the real cost minus the estimate). */
export interface SettleAnomaly {
  readonly rules: CompiledRules;
  readonly cost: number;
}

/** Counts a settled reservation's difference from its estimate (after a settle that settled); returns what fired. */
export function observeSettle(state: AnomalyState, anomaly: SettleAnomaly | undefined, now: number): Fired[] {
  return anomaly ? observe(state, anomaly.rules, { now, allowed: true, cost: anomaly.cost, pendingDenied: 0, calls: 0 }) : [];
}

/** The settle argument for the anomaly rules: the difference from the estimate in the cost-spike unit, or none. */
export function settleAnomaly(
  rules: CompiledRules | undefined,
  reserved: Readonly<Record<string, number>> | undefined,
  settled: ReadonlyMap<string, number>,
  limits: readonly { name: string; unit: string }[],
): SettleAnomaly | undefined {
  if (!rules) return undefined;
  const unit = rules.costSpike?.unit;
  const limit = unit === undefined ? undefined : limits.find((l) => l.unit === unit && settled.has(l.name));
  const cost = limit ? settled.get(limit.name)! - (reserved?.[unit!] ?? 0) : 0;
  return { rules, cost };
}

/**
 * How long an identifier's anomaly counters can matter after a call: a burst or storm window and
 * a step; with a cost-spike rule, the state TTL (the normal hour outlives quiet spells, as the
 * Redis hash holding it does).
 */
export function anomalyRetentionMs(rules: CompiledRules, stateTtlMs: number): number {
  if (rules.costSpike) return stateTtlMs;
  const longest = Math.max(rules.burst?.windowMs ?? 0, rules.denialStorm?.windowMs ?? 0);
  return longest + Math.ceil(longest / STEPS);
}
