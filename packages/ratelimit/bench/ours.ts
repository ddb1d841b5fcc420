// This project's limiter as benchmarked: createRateLimiter + createRedisStore with the
// defaults an app gets (deny cache, controls, top-consumer boards on; Redis clock).
import type { PlansConfig, RateLimiterOptions } from '../src/index';
import { createRateLimiter, createRedisStore } from './engine';
import { connect, disconnect, type Implementation, type LimitSpec, type ImplementationOptions } from './implementation';

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

export interface OursOptions extends ImplementationOptions {
  readonly plan: BenchPlan;
  /** Limiter options beyond the defaults (for example `{ denyCache: false }`). */
  readonly options?: Partial<RateLimiterOptions>;
}

export function ours(o: OursOptions): Implementation {
  const plans = benchPlans(o.spec);
  const cost = o.plan === 'plan3' ? PLAN_TOKENS_PER_CALL : undefined;
  return {
    id: o.id,
    label: o.label,
    prefix: o.prefix,
    // checks are FCALL (FUNCTION LOAD once); controls, usage boards and denial logs add the rest
    commands: ['fcall', 'function', 'evalsha', 'eval', 'zincrby', 'zremrangebyrank', 'hgetall', 'hget', 'publish', 'subscribe', 'xadd'],
    async open() {
      const { client, sent } = await connect(o);
      const limiter = createRateLimiter({
        plans,
        store: createRedisStore({ client, prefix: o.prefix }),
        ...(o.plan === 'plan3' && ANOMALY_OPTIONS),
        ...o.options,
      });
      const check = cost === undefined ? { plan: o.plan } : { plan: o.plan, cost };
      return {
        check: async (id) => (await limiter.check(id, check)).allowed,
        sent,
        async close() {
          await limiter.close();
          await disconnect(client);
        },
      };
    },
  };
}
