// Plans and limits as data: validated once with zod, compiled to what the stores need.
import { z } from 'zod';

import type { AnomalyRules } from './anomaly/rules';
import { type Duration, toMs } from './duration';
import { RateLimitConfigError } from './errors';
import { type Algorithm, AlgorithmCode, type CompiledLimit, type FailureMode, type PlanLimits, REQUESTS } from './plan';
import { DAY_MS } from './time';

export { type Algorithm, AlgorithmCode, type CompiledLimit, type FailureMode, type PlanLimits, REQUESTS } from './plan';

/** One limit of a plan. */
export interface LimitConfig {
  /**
   * Names the usage this limit counts, for example `'hourly'` or `'tokens-per-day'`. The same
   * name in several plans is the same usage: a creator who changes plan keeps what they used.
   * Letters, digits, `-` and `_`; up to 64 characters.
   */
  name: string;
  /** The most units allowed in any window. A positive whole number. */
  limit: number;
  /**
   * The window: milliseconds or a string such as `'1 m'`, `'1 h'`, `'1 d'`. `'month'` means the
   * calendar month in UTC and needs `algorithm: 'fixed-window'`.
   */
  window: Duration | 'month';
  /**
   * @default 'sliding-log'
   */
  algorithm?: Algorithm;
  /**
   * What the limit counts: `'requests'` (each call costs 1 unless told otherwise) or a cost unit
   * such as `'tokens'` or `'cents'`, charged with the `cost` of a call.
   * @default 'requests'
   */
  unit?: string;
}


/** A plan: the limits that apply to every identifier on it. */
export interface PlanConfig {
  /** Checked and charged together: a call is allowed only if every limit has room. */
  limits: readonly LimitConfig[];
  /**
   * This plan's answer when the store fails; see {@link FailureMode}.
   * @default the limiter's `whenStoreFails`
   */
  whenStoreFails?: FailureMode;
  /**
   * This plan's anomaly rules, over the limiter's `anomalies` (which must be set to detect any);
   * `false` turns detection off for the plan. See `AnomalyRules`.
   */
  anomalies?: false | AnomalyRules;
}

/** Plans by name. */
export type PlansConfig = Readonly<Record<string, PlanConfig>>;

/** The legacy plans: one sliding hour, starter 50, pro 100, business 500 requests. */
export const DEFAULT_PLANS = {
  starter: { limits: [{ name: 'hourly', limit: 50, window: '1 h' }] },
  pro: { limits: [{ name: 'hourly', limit: 100, window: '1 h' }] },
  business: { limits: [{ name: 'hourly', limit: 500, window: '1 h' }] },
} as const satisfies PlansConfig;

export interface CompiledPlan extends PlanLimits {
  readonly whenStoreFails: FailureMode | undefined;
  readonly anomalies: false | AnomalyRules | undefined;
}

export interface CompiledPolicy {
  readonly plans: ReadonlyMap<string, CompiledPlan>;
  /** Every distinct limit of every plan, by name. */
  readonly limits: ReadonlyMap<string, CompiledLimit>;
  /** Every unit any plan counts. */
  readonly units: ReadonlySet<string>;
  /** The longest time any state of one identifier can matter. */
  readonly maxTtlMs: number;
}

const MONTH_MS = 31 * DAY_MS;
/** Exact integer math of the sliding-window counter needs limit x window well inside 2^53. */
const MAX_WEIGHTED = 2 ** 52;

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, {
  message: 'use 1 to 64 letters, digits, - or _ (starting with a letter or digit)',
});

const limitSchema = z.object({
  name,
  limit: z.number().int({ message: 'must be a whole number' }).positive({ message: 'must be > 0' }).max(Number.MAX_SAFE_INTEGER),
  window: z.union([z.literal('month'), z.number(), z.string()]),
  algorithm: z.enum(['sliding-log', 'sliding-window', 'token-bucket', 'fixed-window']).optional(),
  unit: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/, { message: "use a lowercase word such as 'requests', 'tokens' or 'cents'" })
    .optional(),
});

const plansSchema = z
  .record(
    name,
    z.object({
      limits: z.array(limitSchema).min(1, { message: 'a plan needs at least one limit' }),
      whenStoreFails: z.enum(['open', 'closed', 'fallback']).optional(),
      // the rules' own values are checked by compileRules, with messages naming them
      anomalies: z.union([z.literal(false), z.record(z.string(), z.unknown())]).optional(),
    }),
  )
  .refine((plans) => Object.keys(plans).length > 0, { message: 'define at least one plan' });

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : `${acc}.${String(key)}`), 'plans');
}

/** Validates plans and compiles them; throws {@link RateLimitConfigError} listing every problem. */
export function compilePolicy(input: unknown): CompiledPolicy {
  const parsed = plansSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`);
    throw new RateLimitConfigError(`invalid plans: ${issues.join('; ')}`, issues);
  }
  const issues: string[] = [];
  const limits = new Map<string, CompiledLimit>();
  const plans = new Map<string, CompiledPlan>();
  for (const [planName, plan] of Object.entries(parsed.data)) {
    const compiled: CompiledLimit[] = [];
    plan.limits.forEach((raw, i) => {
      const at = `plans.${planName}.limits[${i}]`;
      const algorithm = raw.algorithm ?? 'sliding-log';
      let windowMs: number;
      if (raw.window === 'month') {
        if (algorithm !== 'fixed-window') {
          issues.push(`${at}.window: 'month' is a calendar month and needs algorithm 'fixed-window'`);
          return;
        }
        windowMs = MONTH_MS;
      } else {
        try {
          windowMs = toMs(raw.window as Duration, `${at}.window`);
        } catch (error) {
          issues.push((error as Error).message);
          return;
        }
      }
      if (algorithm === 'sliding-window' && raw.limit * windowMs > MAX_WEIGHTED) {
        issues.push(
          `${at}: a sliding-window limit of ${raw.limit} per ${windowMs} ms is too large for exact counting ` +
            `(limit x window must be <= 2^52); use 'sliding-log', 'token-bucket' or 'fixed-window', or a shorter window`,
        );
        return;
      }
      const limit: CompiledLimit = {
        name: raw.name,
        unit: raw.unit ?? REQUESTS,
        algorithm,
        code: raw.window === 'month' ? AlgorithmCode.month : AlgorithmCode[algorithm],
        limit: raw.limit,
        windowMs,
        ttlMs: algorithm === 'sliding-window' ? 2 * windowMs : windowMs,
      };
      if (compiled.some((l) => l.name === limit.name)) {
        issues.push(`${at}.name: '${limit.name}' appears twice in plan '${planName}'`);
        return;
      }
      const seen = limits.get(limit.name);
      if (seen && (seen.code !== limit.code || seen.windowMs !== limit.windowMs || seen.unit !== limit.unit)) {
        issues.push(
          `${at}: limit '${limit.name}' counts the same usage in every plan, so its window, algorithm and unit must match ` +
            `(another plan has ${seen.algorithm} over ${seen.windowMs} ms of ${seen.unit}); only 'limit' may differ, or give it another name`,
        );
        return;
      }
      if (!seen) limits.set(limit.name, limit);
      compiled.push(limit);
    });
    const units = [...new Set(compiled.map((l) => l.unit))].sort((a, b) => (a === REQUESTS ? -1 : b === REQUESTS ? 1 : a.localeCompare(b)));
    plans.set(planName, { name: planName, limits: compiled, units, whenStoreFails: plan.whenStoreFails, anomalies: plan.anomalies });
  }
  if (issues.length > 0) throw new RateLimitConfigError(`invalid plans: ${issues.join('; ')}`, issues);
  const maxTtlMs = Math.max(...[...limits.values()].map((l) => l.ttlMs));
  return { plans, limits, units: new Set([...limits.values()].map((l) => l.unit)), maxTtlMs };
}
