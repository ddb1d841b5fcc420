// This project's limiter as benchmarked: createRateLimiter + createRedisStore with the
// defaults an app gets (deny cache, controls, top-consumer boards on; Redis clock).
import type { RateLimiterOptions } from '../src/index';
import { createRateLimiter, createRedisStore } from './engine';
import { connect, disconnect, type Implementation, type ImplementationOptions } from './implementation';
import { ANOMALY_OPTIONS, type BenchPlan, benchPlans, PLAN_TOKENS_PER_CALL } from './plans';

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
