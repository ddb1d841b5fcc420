// Anomaly detection: counters kept by the same atomic step as the check (no extra store call),
// rules that fire once per episode. This is the pure math; src/lua/include/anomaly.lua mirrors it
// operation for operation, and the model-based tests hold both to the same answers.
import { type Duration, toMs } from './duration';
import { RateLimitConfigError } from './errors';
import { type PlanLimits, REQUESTS } from './plan';
import { DAY_MS, HOUR_MS } from './time';

export type AnomalyRule = 'burst' | 'denial-storm' | 'cost-spike';

/** What a burst threshold is measured against: a limit of the plan by name, or an explicit rate. */
export type BurstReference = string | { limit: number; window: Duration };

/** Rule settings; each can be turned off with `false`. */
export interface AnomalyRules {
  /**
   * Calls (allowed or denied) within `window` above `multiple` x the reference's allowance in
   * that window (the most the reference lets through in it: `limit x max(1, window / its
   * window)`). Counted exactly in tenths of `window`: a call counts while it is in the current
   * tenth or the ten before it, so every burst within `window` is seen whole by its last call.
   * The reference is a `requests` limit of the plan by name, or an explicit rate; by default the
   * plan's `requests` limit with the smallest allowance (the rule is off for a plan with none).
   * `threshold` sets the number of calls outright.
   * @default { window: '5 m', multiple: 2, reference: the tightest requests limit }
   */
  burst?: false | { window?: Duration; reference?: BurstReference; multiple?: number; threshold?: number; block?: Duration };
  /**
   * Denied calls (deny-cache answers included) within `window` above `threshold`, counted exactly
   * in tenths of `window` like `burst`: a client retrying in a loop.
   * @default { window: '1 m', threshold: 30 }
   */
  denialStorm?: false | { window?: Duration; threshold?: number; block?: Duration };
  /**
   * This clock hour's cost (check, reserve and settle, refunds included) above `factor` x the
   * identifier's normal hour and above `minCost`, once it has `minHours` active hours of history.
   * The normal hour is the highest cost of its recent active hours, shrinking by a tenth per
   * active hour: hours without cost change nothing, so a creator coming back after a quiet spell
   * is compared to what it did when it was working. Counts the plan's cost unit (its one unit
   * other than requests); off for plans that count only requests.
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

/** Steps per window of the burst and denial-storm counters: a call counts for its step and the next `STEPS`. */
export const STEPS = 10;
/** What the normal hour (the cost baseline) keeps of itself per active hour. */
export const BASELINE_KEEP = 0.9;

const positive = (value: unknown, what: string): number => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new RateLimitConfigError(`${what}: ${String(value)} must be a number > 0`);
  return value;
};
const wholePositive = (value: unknown, what: string): number => {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new RateLimitConfigError(`${what}: ${String(value)} must be a whole number > 0`);
  return value as number;
};
const settingsOf = (value: unknown, what: string, keys: readonly string[]) => {
  if (value === undefined || value === false) return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RateLimitConfigError(`${what}: must be false or an object of settings`);
  const unknown = Object.keys(value).filter((k) => !keys.includes(k));
  if (unknown.length > 0) throw new RateLimitConfigError(`${what}: unknown setting '${unknown[0]}'; the settings are: ${keys.join(', ')}`);
};

/** The most calls `reference` lets through within `windowMs`, and what it is, for messages. */
function allowance(plan: PlanLimits, reference: BurstReference | undefined, windowMs: number, what: string): number | undefined {
  const within = (limit: number, refMs: number) => limit * Math.max(1, windowMs / refMs);
  if (reference === undefined) {
    const requests = plan.limits.filter((l) => l.unit === REQUESTS);
    return requests.length === 0 ? undefined : Math.min(...requests.map((l) => within(l.limit, l.windowMs)));
  }
  if (typeof reference === 'string') {
    const limit = plan.limits.find((l) => l.name === reference);
    if (!limit) throw new RateLimitConfigError(`${what}: plan '${plan.name}' has no limit '${reference}'; its limits are: ${plan.limits.map((l) => l.name).join(', ')}`);
    if (limit.unit !== REQUESTS) {
      throw new RateLimitConfigError(`${what}: limit '${reference}' counts ${limit.unit}, but a burst counts calls: name a requests limit or give { limit, window }`);
    }
    return within(limit.limit, limit.windowMs);
  }
  if (typeof reference !== 'object' || reference === null) throw new RateLimitConfigError(`${what}: must be a limit's name or { limit, window }`);
  return within(wholePositive(reference.limit, `${what}.limit`), toMs(reference.window, `${what}.window`));
}

/** Resolves a plan's rules from the limiter's and the plan's settings. */
export function compileRules(plan: PlanLimits, base: AnomalyRules | undefined, own: AnomalyRules | undefined): CompiledRules {
  const at = `anomalies of plan '${plan.name}'`;
  const pick = <K extends keyof AnomalyRules>(k: K): AnomalyRules[K] => own?.[k] ?? base?.[k];
  const burstIn = pick('burst');
  const stormIn = pick('denialStorm');
  const spikeIn = pick('costSpike');
  settingsOf(burstIn, `${at}.burst`, ['window', 'reference', 'multiple', 'threshold', 'block']);
  settingsOf(stormIn, `${at}.denialStorm`, ['window', 'threshold', 'block']);
  settingsOf(spikeIn, `${at}.costSpike`, ['factor', 'minCost', 'minHours', 'block']);
  const block = (b: Duration | undefined, what: string) => (b === undefined ? 0 : toMs(b, `${at}.${what}.block`));

  let burst: CompiledRules['burst'];
  if (burstIn !== false) {
    const windowMs = toMs(burstIn?.window ?? '5 m', `${at}.burst.window`);
    if (burstIn?.threshold !== undefined && (burstIn.reference !== undefined || burstIn.multiple !== undefined)) {
      throw new RateLimitConfigError(`${at}.burst: give either threshold or reference and multiple, not both`);
    }
    const multiple = positive(burstIn?.multiple ?? 2, `${at}.burst.multiple`);
    const most = burstIn?.threshold === undefined ? allowance(plan, burstIn?.reference, windowMs, `${at}.burst.reference`) : undefined;
    const threshold = burstIn?.threshold ?? (most === undefined ? undefined : Math.floor(multiple * most));
    if (threshold !== undefined) {
      burst = { windowMs, threshold: wholePositive(threshold, `${at}.burst.threshold`), blockMs: block(burstIn?.block, 'burst') };
    }
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
  /** This clock hour's cost, the normal hour, active hours seen, episode end. */
  spike: { hour: number; cost: number; baseline: number; hours: number; until: number } | undefined;
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
    const s = (state.spike ??= { hour, cost: 0, baseline: 0, hours: 0, until: 0 });
    if (hour > s.hour) {
      // only active hours count: an idle hour says nothing about a normal one
      if (s.cost > 0) {
        s.baseline = s.hours === 0 ? s.cost : Math.max(s.cost, s.baseline * BASELINE_KEEP);
        s.hours += 1;
      }
      s.cost = 0;
      s.hour = hour;
    }
    if (allowed && hour === s.hour) s.cost = Math.max(0, s.cost + cost);
    const threshold = Math.max(r.factor * s.baseline, r.minCost);
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

/** settle.lua's last two arguments: the rules and the difference from the estimate ('' when no rules). */
export function settleAnomalyArgs(anomaly: SettleAnomaly | undefined): (string | number)[] {
  const rules = anomaly ? rulesArg(anomaly.rules) : '';
  return rules === '' ? [] : [rules, anomaly!.cost];
}

const RULE_CODES: Record<number, AnomalyRule> = { 1: 'burst', 2: 'denial-storm', 3: 'cost-spike' };

/** Fired rules from a script reply: a count at `at`, then rule code, value, threshold per rule. */
export function parseFired(reply: readonly number[], at: number): Fired[] {
  const fired: Fired[] = [];
  for (let f = 0, j = at + 1; f < (reply[at] ?? 0); f++, j += 3) fired.push({ rule: RULE_CODES[reply[j]!]!, value: reply[j + 1]!, threshold: reply[j + 2]! });
  return fired;
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

/**
 * Each identifier's own anomaly history (the admin's creator view): its last 20 anomalies, kept
 * 7 days after the last one. The shared `anomalies` stream is capped by `streamLength`.
 */
export const IDENTIFIER_HISTORY = { length: 20, ttlMs: 7 * DAY_MS } as const;
