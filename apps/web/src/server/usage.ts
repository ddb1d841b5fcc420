// What a creator has used of each limit, including usage past it. The engine's `remaining` stops
// at 0, so a call settled above the limit (the work was done) would show as "limit used". A second
// limiter on the same store reads the same usage (limits with the same name count the same usage)
// through limits too large to reach, so `limit - remaining` there is what is recorded.
import 'server-only';

import { AI_PLANS, type CreatorPlan, PLANS } from '@airl/creators';
import { createRateLimiter, type LimitConfig, type PlanConfig, type RateLimiter, toMs } from '@airl/ratelimit';

// sliding-window counters do exact integer math only while limit x window stays within 2^52
const SLIDING_WINDOW_PRODUCT = 2 ** 52;
const UNREACHABLE = 2 ** 40;

function unreachable(limit: LimitConfig): LimitConfig {
  if (limit.algorithm === 'sliding-window') {
    return { ...limit, limit: Math.min(UNREACHABLE, Math.floor(SLIDING_WINDOW_PRODUCT / toMs(limit.window as Exclude<LimitConfig['window'], 'month'>))) };
  }
  return { ...limit, limit: UNREACHABLE };
}

type UsageReader = (identifier: string, plan: CreatorPlan) => Promise<Map<string, number> | undefined>;

const readers = new WeakMap<RateLimiter<CreatorPlan>, UsageReader>();

/** Used units by limit name, past the limit too; undefined when the store could not answer. */
export function recordedUsage(limiter: RateLimiter<CreatorPlan>, identifier: string, plan: CreatorPlan): Promise<Map<string, number> | undefined> {
  let reader = readers.get(limiter);
  if (!reader) {
    reader = createUsageReader(limiter);
    readers.set(limiter, reader);
  }
  return reader(identifier, plan);
}

/** A reader over `limiter`'s store: read-only (peeks), no timers, no listeners. */
function createUsageReader(limiter: RateLimiter<CreatorPlan>): UsageReader {
  const plans = {} as Record<CreatorPlan, PlanConfig>;
  for (const name of PLANS) plans[name] = { limits: AI_PLANS[name].limits.map(unreachable) };
  const reader = createRateLimiter<CreatorPlan>({ plans, store: limiter.store, controls: false, denyCache: false, topConsumers: false, anomalies: false, logger: false });
  return async (identifier, plan) => {
    const status = await reader.peek(identifier, { plan });
    if (status.degraded !== undefined) return undefined;
    const limits = plans[plan].limits;
    return new Map(status.limits.map((l) => [l.name, limits.find((c) => c.name === l.name)!.limit - l.remaining]));
  };
}
