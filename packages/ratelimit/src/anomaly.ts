// Anomaly detection: counters kept by the same atomic step as the check (no extra store call),
// rules that fire once per episode. This is the pure math; src/lua/include/anomaly.lua mirrors it
// operation for operation, and the model-based tests hold both to the same answers.
import { type Duration, toMs } from './duration';
import { RateLimitConfigError } from './errors';
import { floorDiv } from './algorithms/math';
import { rollWindow, usedScaled, type WindowCounts } from './algorithms/sliding-window';
import { type PlanLimits, REQUESTS } from './plan';

export type AnomalyRule = 'burst' | 'denial-storm' | 'cost-spike';

/** Rule settings; each can be turned off with `false`. */
export interface AnomalyRules {
  /**
   * Calls (allowed or denied) in a short sliding window above a threshold. The default is the
   * legacy rule: more than 2 x the plan's first `requests` limit within 5 minutes.
   */
  burst?: false | { window?: Duration; threshold?: number; multiple?: number; block?: Duration };
  /**
   * Denied calls in a short sliding window: a client retrying in a loop.
   * @default { window: '1 m', threshold: 30 }
   */
  denialStorm?: false | { window?: Duration; threshold?: number; block?: Duration };
  /**
   * This hour's cost far above the identifier's own baseline (an average of its past hours,
   * recent ones weighing most), once it has `minHours` of history. Counts the plan's cost unit
   * (its one unit other than requests); off for plans that count only requests.
   * @default { factor: 5, minCost: a tenth of an hour's share of the smallest limit in that unit, minHours: 3 }
   */
  costSpike?: false | { factor?: number; minCost?: number; minHours?: number; block?: Duration };
}

/** An anomaly, raised once per episode. */
export interface Anomaly {
  readonly rule: AnomalyRule;
  readonly identifier: string;
  readonly plan: string;
  /** What was measured: calls or denials in the window, or this hour's cost. */
  readonly value: number;
  /** What it was compared to. */
  readonly threshold: number;
  /** The window measured over (ms); an hour for cost spikes. */
  readonly windowMs: number;
  /** Store clock, epoch ms. */
  readonly at: number;
  /** Set when the rule blocks automatically: until when (epoch ms, local clock). */
  readonly blockedUntil: number | undefined;
}

/** Who blocks when an anomaly rule does. */
export const ANOMALY_DETECTOR = 'anomaly-detector';

/** An anomaly as stream fields (every value a string). */
export function anomalyFields(a: Anomaly): Record<string, string> {
  return Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
}

/** An anomaly back from stream fields; undefined for an entry that is not one. */
export function parseAnomaly(fields: Readonly<Record<string, string>>): Anomaly | undefined {
  const rule = fields.rule as AnomalyRule;
  if (rule !== 'burst' && rule !== 'denial-storm' && rule !== 'cost-spike') return undefined;
  const n = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    rule,
    identifier: fields.identifier ?? '',
    plan: fields.plan ?? '',
    value: n(fields.value) ?? 0,
    threshold: n(fields.threshold) ?? 0,
    windowMs: n(fields.windowMs) ?? 0,
    at: n(fields.at) ?? 0,
    blockedUntil: n(fields.blockedUntil),
  };
}

/** A plan's rules, resolved to numbers. */
export interface CompiledRules {
  readonly burst: { windowMs: number; threshold: number; blockMs: number } | undefined;
  readonly denialStorm: { windowMs: number; threshold: number; blockMs: number } | undefined;
  readonly costSpike: { unit: string; factor: number; minCost: number; minHours: number; blockMs: number } | undefined;
}

export const HOUR_MS = 3_600_000;
/** Weight of the newest hour in the cost baseline. */
export const BASELINE_WEIGHT = 0.3;

const positive = (value: unknown, what: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RateLimitConfigError(`${what}: ${String(value)} must be a number > 0`);
  return value;
};
const wholePositive = (value: unknown, what: string): number => {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new RateLimitConfigError(`${what}: ${String(value)} must be a whole number > 0`);
  return value as number;
};

/** Resolves a plan's rules from the limiter's and the plan's settings. */
export function compileRules(plan: PlanLimits, base: AnomalyRules | undefined, own: AnomalyRules | undefined): CompiledRules {
  const at = `anomalies of plan '${plan.name}'`;
  const pick = <K extends keyof AnomalyRules>(k: K): AnomalyRules[K] => own?.[k] ?? base?.[k];
  const burstIn = pick('burst');
  const stormIn = pick('denialStorm');
  const spikeIn = pick('costSpike');
  const block = (b: Duration | undefined, what: string) => (b === undefined ? 0 : toMs(b, `${at}.${what}.block`));

  let burst: CompiledRules['burst'];
  const requests = plan.limits.find((l) => l.unit === REQUESTS);
  if (burstIn !== false && (requests || burstIn?.threshold !== undefined)) {
    const multiple = positive(burstIn?.multiple ?? 2, `${at}.burst.multiple`);
    burst = {
      windowMs: toMs(burstIn?.window ?? '5 m', `${at}.burst.window`),
      threshold: wholePositive(burstIn?.threshold ?? Math.ceil(multiple * requests!.limit), `${at}.burst.threshold`),
      blockMs: block(burstIn?.block, 'burst'),
    };
  }
  const denialStorm =
    stormIn === false
      ? undefined
      : {
          windowMs: toMs(stormIn?.window ?? '1 m', `${at}.denialStorm.window`),
          threshold: wholePositive(stormIn?.threshold ?? 30, `${at}.denialStorm.threshold`),
          blockMs: block(stormIn?.block, 'denialStorm'),
        };
  let costSpike: CompiledRules['costSpike'];
  const unit = plan.units.find((u) => u !== REQUESTS);
  if (spikeIn !== false && unit) {
    // an hour's share of the tightest limit in the unit: a tenth of it is noise, not a spike
    const hourly = Math.min(...plan.limits.filter((l) => l.unit === unit).map((l) => (l.limit * Math.min(HOUR_MS, l.windowMs)) / l.windowMs));
    costSpike = {
      unit,
      factor: positive(spikeIn?.factor ?? 5, `${at}.costSpike.factor`),
      minCost: wholePositive(spikeIn?.minCost ?? Math.max(1, Math.ceil(hourly / 10)), `${at}.costSpike.minCost`),
      minHours: wholePositive(spikeIn?.minHours ?? 3, `${at}.costSpike.minHours`),
      blockMs: block(spikeIn?.block, 'costSpike'),
    };
  }
  return { burst, denialStorm, costSpike };
}

const ruleArgs = new WeakMap<CompiledRules, string>();

/** A plan's rules as the Lua script reads them, '' when every rule is off (made once per plan). */
export function rulesArg(r: CompiledRules): string {
  let arg = ruleArgs.get(r);
  if (arg === undefined) ruleArgs.set(r, (arg = formatRules(r)));
  return arg;
}

function formatRules(r: CompiledRules): string {
  if (!r.burst && !r.denialStorm && !r.costSpike) return '';
  return [
    r.burst?.windowMs ?? 0,
    r.burst?.threshold ?? 0,
    r.denialStorm?.windowMs ?? 0,
    r.denialStorm?.threshold ?? 0,
    r.costSpike?.factor ?? 0,
    r.costSpike?.minCost ?? 0,
    r.costSpike?.minHours ?? 0,
  ].join('|');
}

/** Counters of one identifier. */
type Episodic = WindowCounts & { until: number };

export interface AnomalyState {
  burst: Episodic | undefined;
  storm: Episodic | undefined;
  spike: { hour: number; cost: number; baseline: number; hours: number; until: number } | undefined;
}

export function emptyAnomalyState(): AnomalyState {
  return { burst: undefined, storm: undefined, spike: undefined };
}

/** What fired: rule, measured value, threshold. */
export type Fired = { rule: AnomalyRule; value: number; threshold: number };

/** Adds `add` to a sliding-window counter (the sliding-window algorithm's) and returns the count times the window. */
function slide(s: Episodic | undefined, windowMs: number, now: number, add: number) {
  const w = s ?? { index: Math.floor(now / windowMs), current: 0, previous: 0, until: 0 };
  rollWindow(w, now, windowMs);
  w.current += add;
  return { w, scaled: usedScaled(w, now, windowMs) };
}

/**
 * Counts one call (and `pendingDenied` denials answered from a deny cache) and returns the rules
 * that fired: each once per episode (it fires when its value goes over the threshold after a
 * quiet period, and the episode lasts while it stays over).
 */
export function observe(
  state: AnomalyState,
  rules: CompiledRules,
  call: { now: number; allowed: boolean; cost: number; pendingDenied: number },
): Fired[] {
  const { now, allowed, cost, pendingDenied } = call;
  const fired: Fired[] = [];
  const sliding = (rule: 'burst' | 'denial-storm', r: { windowMs: number; threshold: number }, key: 'burst' | 'storm', add: number) => {
    const { w, scaled } = slide(state[key], r.windowMs, now, add);
    state[key] = w;
    if (scaled > r.threshold * r.windowMs) {
      if (now >= w.until) fired.push({ rule, value: floorDiv(scaled, r.windowMs), threshold: r.threshold });
      w.until = now + r.windowMs;
    }
  };
  if (rules.burst) sliding('burst', rules.burst, 'burst', 1 + pendingDenied);
  if (rules.denialStorm) sliding('denial-storm', rules.denialStorm, 'storm', (allowed ? 0 : 1) + pendingDenied);
  if (rules.costSpike) {
    const r = rules.costSpike;
    const hour = Math.floor(now / HOUR_MS);
    const s = state.spike ?? { hour, cost: 0, baseline: 0, hours: 0, until: 0 };
    if (hour > s.hour) {
      s.baseline = s.hours === 0 ? s.cost : s.baseline * (1 - BASELINE_WEIGHT) + s.cost * BASELINE_WEIGHT;
      s.hours += 1;
      // hours without calls cost nothing
      for (let h = s.hour + 1; h < hour && h < s.hour + 48; h++) {
        s.baseline = s.baseline * (1 - BASELINE_WEIGHT);
        s.hours += 1;
      }
      s.cost = 0;
      s.hour = hour;
    }
    if (allowed) s.cost += cost;
    state.spike = s;
    const threshold = Math.max(r.factor * s.baseline, r.minCost);
    if (s.hours >= r.minHours && s.cost > threshold) {
      if (now >= s.until) fired.push({ rule: 'cost-spike', value: s.cost, threshold: Math.floor(threshold) });
      s.until = (hour + 1) * HOUR_MS;
    }
  }
  return fired;
}
