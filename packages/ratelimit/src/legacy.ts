// Entry point `@airl/ratelimit/legacy`: the old app's contract (LEGACY.md), none of its bugs.
// Denied calls are not counted, retryAfter is the real wait, the check is one atomic script,
// time is the store's, nothing connects at import, and a Redis outage fails within a bound.
import { createRateLimiter, type RateLimiter } from './limiter';
import { createMemoryStore } from './stores/memory';

/** The legacy plans. */
export type CreatorPlan = 'starter' | 'pro' | 'business';

/** Thrown by {@link checkCreatorRateLimit} when the creator is over their limit. */
export class RateLimitError extends Error {
  override readonly name = 'RateLimitError';
  constructor(
    /** Seconds until a call would be allowed (rounded up). */
    readonly retryAfter: number,
    /** The plan's limit. */
    readonly limit: number,
    /** Calls left (0 when denied). */
    readonly remaining: number,
  ) {
    super('Rate limit exceeded');
  }
}

let limiter: Promise<RateLimiter<CreatorPlan>> | undefined;

/**
 * Uses this limiter for the legacy functions (its plans must include starter, pro and business).
 * Without it, the first call makes one: on Redis when the environment configures it (see
 * `redisConfigFromEnv`), else in memory.
 */
export function setLegacyRateLimiter(value: RateLimiter<CreatorPlan> | undefined): void {
  limiter = value && Promise.resolve(value);
}

async function fromEnv(): Promise<RateLimiter<CreatorPlan>> {
  const { redisConfigFromEnv, createRedisClient, createRedisStore } = await import('./redis');
  const config = redisConfigFromEnv();
  const store = config ? createRedisStore({ client: () => createRedisClient(config) }) : createMemoryStore();
  // the old app watched for bursts (2x the hourly limit in 5 minutes): so does this, and more
  return createRateLimiter<CreatorPlan>({ store, anomalies: {} });
}

function get(): Promise<RateLimiter<CreatorPlan>> {
  limiter ??= fromEnv().catch((error: unknown) => {
    limiter = undefined;
    throw error;
  });
  return limiter;
}

const id = (creatorId: string | number) => (typeof creatorId === 'number' ? String(creatorId) : creatorId);

/** Resolves when the call is allowed (and counts it); throws {@link RateLimitError} when not. */
export async function checkCreatorRateLimit(creatorId: string | number, plan: CreatorPlan = 'pro'): Promise<void> {
  const result = await (await get()).check(id(creatorId), { plan });
  if (!result.allowed) throw new RateLimitError(Math.ceil(result.retryAfterMs / 1000), result.limit, result.remaining);
}

/** Where the creator stands, without counting a call. `reset` is epoch ms. */
export async function getRateLimitStatus(
  creatorId: string | number,
  plan: CreatorPlan = 'pro',
): Promise<{ limit: number; remaining: number; reset: number }> {
  const result = await (await get()).peek(id(creatorId), { plan });
  return { limit: result.limit, remaining: result.remaining, reset: result.resetAt };
}
