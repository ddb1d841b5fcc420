// The anomaly rules: their settings (AnomalyRules), checked and resolved per plan to numbers
// (CompiledRules) by compileRules; bad settings throw RateLimitConfigError naming the setting.
import { type Duration, toMs } from '../duration';
import { RateLimitConfigError } from '../errors';
import { type PlanLimits, REQUESTS } from '../plan';
import { HOUR_MS } from '../time';

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
   * This clock hour's cost (check, reserve and settle, refunds included) above
   * `factor` x normal + 3 x sqrt(`factor` x normal x perCall) and above `minCost`, once it has
   * `minHours` active hours of history. The normal hour is the highest cost of its recent active
   * hours, shrinking by a tenth per active hour: hours without cost change nothing, so a creator
   * coming back after a quiet spell is compared to what it did when it was working. perCall is
   * the cost per call of the hour that set the normal hour: the margin is 3 standard deviations
   * of a Poisson count of `factor` x its calls, so a few calls' chance variation is not a spike.
   * Counts the plan's cost unit (its one unit other than requests); off for plans that count only
   * requests.
   * @default { factor: 5, minCost: a tenth of an hour's share of the smallest limit in that unit, minHours: 3 }
   */
  costSpike?: false | { factor?: number; minCost?: number; minHours?: number; block?: Duration };
}

/** A plan's rules, resolved to numbers. */
export interface CompiledRules {
  readonly burst: { windowMs: number; threshold: number; blockMs: number } | undefined;
  readonly denialStorm: { windowMs: number; threshold: number; blockMs: number } | undefined;
  readonly costSpike: { unit: string; factor: number; minCost: number; minHours: number; blockMs: number } | undefined;
}

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
