// The plans and options this project's rows are benchmarked with (ours.ts runs them): data only,
// so the scripts that only send the store's commands (instructions.ts, ceiling.ts,
// script-cost.ts) do not load the engine's build.
import type { PlansConfig, RateLimiterOptions } from '../src/index';
import type { LimitSpec } from './implementation';

/** The options that turn on the engine's anomaly counters (default rules) in the three-limit row. */
export const ANOMALY_OPTIONS: Partial<RateLimiterOptions> = { anomalies: {} };

export const anomalyState = 'anomaly counters on';

/** A cost in tokens per call for the three-limit plan. */
export const PLAN_TOKENS_PER_CALL = 250;

/**
 * The plans: one limit of each algorithm, sized by the workload, and a three-limit plan
 * (requests per minute as a log, requests per hour and tokens per day as counters) whose limits
 * no workload here reaches.
 */
export function benchPlans(spec: LimitSpec) {
  return {
    log: { limits: [{ name: 'log', limit: spec.limit, window: spec.windowMs }] },
    window: { limits: [{ name: 'window', limit: spec.limit, window: spec.windowMs, algorithm: 'sliding-window' }] },
    'token-bucket': { limits: [{ name: 'bucket', limit: spec.limit, window: spec.windowMs, algorithm: 'token-bucket' }] },
    'fixed-window': { limits: [{ name: 'fixed', limit: spec.limit, window: spec.windowMs, algorithm: 'fixed-window' }] },
    plan3: {
      limits: [
        { name: 'per-minute', limit: 6_000, window: '1 m' },
        { name: 'per-hour', limit: 100_000, window: '1 h', algorithm: 'sliding-window' },
        { name: 'tokens-per-day', limit: 20_000_000, window: '1 d', unit: 'tokens', algorithm: 'sliding-window' },
      ],
    },
  } satisfies PlansConfig;
}

export type BenchPlan = keyof ReturnType<typeof benchPlans>;

/**
 * The provider's budget of the "creator plan + shared budget" row: sized so that no workload here
 * reaches it or a creator's share of it (counters, constant memory), so every call pays the
 * whole two-step charge (see the package README, "Shared budgets").
 */
export const SHARED_BENCH_BUDGET = {
  provider: {
    limits: [
      { name: 'provider-requests', limit: 1_000_000_000, window: '1 m', algorithm: 'sliding-window' },
      { name: 'provider-tokens', limit: 50_000_000_000, window: '1 m', unit: 'tokens', algorithm: 'sliding-window' },
    ],
    maxShare: 0.2,
  },
} as const satisfies RateLimiterOptions['shared'];

