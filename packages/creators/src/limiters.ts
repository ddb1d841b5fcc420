// Entry point `@airl/creators/limiters`: the limiters both apps use, on one Redis client (or in
// memory when no Redis is configured). The web app counts; the admin app reads and resets the same
// keys, so both must build them here.
import { createMemoryStore, createRateLimiter, type RateLimiter, type RateLimitEventListener, RateLimitConfigError } from '@airl/ratelimit';
import { createRedisClient, createRedisStore, type RedisClient, redisConfigFromEnv, type RedisConnectionConfig } from '@airl/ratelimit/redis';

import { type CreatorDirectory, createDemoDirectory } from './creators';
import { AI_PLANS, type CreatorPlan, SPEND_PLANS } from './plans';

/** The engine's default prefix: admin finds the creators who used the web app under `ratelimit:{<id>}`. */
export const DEFAULT_PREFIX = 'ratelimit';

/** Where the limiters keep their state, as read from the environment. */
export interface LimitersConfig {
  /** The Redis to use; undefined means the in-memory store (one process only). */
  readonly redis: RedisConnectionConfig | undefined;
  /**
   * Key prefix of the AI limits; the budget uses `<prefix>-spend`, the plans `<prefix>-creators`.
   * @default 'ratelimit'
   */
  readonly prefix: string;
}

/**
 * Reads {@link LimitersConfig}: the Redis variables of `redisConfigFromEnv()` and
 * `RATE_LIMIT_PREFIX`. Throws `RateLimitConfigError` naming the variable to fix.
 */
export function limitersConfigFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LimitersConfig {
  const prefix = env.RATE_LIMIT_PREFIX || DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9:_-]{1,48}$/.test(prefix)) {
    throw new RateLimitConfigError(`RATE_LIMIT_PREFIX='${prefix}' must be 1 to 48 letters, digits, ':', '_' or '-'`);
  }
  return { redis: redisConfigFromEnv(env), prefix };
}

export interface Limiters {
  /** Requests and tokens of the AI features (prefix `<prefix>`). */
  readonly ai: RateLimiter<CreatorPlan>;
  /** The monthly AI budget in cents (prefix `<prefix>-spend`). */
  readonly spend: RateLimiter<CreatorPlan>;
  /** Creators' plans. */
  readonly directory: CreatorDirectory;
  readonly storage: 'redis' | 'memory';
  /** `host:port` of the Redis, never credentials; undefined in memory. */
  readonly redisTarget: string | undefined;
  /** The shared client (made on first use); undefined in memory. */
  client(): RedisClient | undefined;
  /** Closes the client if one was made, and the memory stores' timers. */
  close(): Promise<void>;
}

export interface CreateLimitersOptions extends Partial<LimitersConfig> {
  /** A client to use instead of one made from `redis` (tests). Not closed by `close()`. */
  client?: RedisClient;
  /** Receives every decision and store error of both limiters. */
  onEvent?: RateLimitEventListener;
  /**
   * Receives the client's connection errors (refused, reset, reconnecting...). Calls already fail
   * fast with a store error; this is for logs.
   * @default ignored (ioredis would print every one as "Unhandled error event")
   */
  onClientError?: (error: Error) => void;
}

/** Makes the AI and budget limiters, sharing one lazily connected Redis client. */
export function createLimiters(options: CreateLimitersOptions = {}): Limiters {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const config = options.redis;
  const given = options.client;
  let made: RedisClient | undefined;
  const onClientError = options.onClientError ?? (() => undefined);
  const make = (c: RedisConnectionConfig) => {
    const created = createRedisClient(c);
    created.on('error', onClientError);
    return created;
  };
  const client = (): RedisClient | undefined => given ?? (config ? (made ??= make(config)) : undefined);
  const redisBacked = given !== undefined || config !== undefined;
  const events = options.onEvent && { onEvent: options.onEvent };

  if (!redisBacked) {
    const aiStore = createMemoryStore();
    const spendStore = createMemoryStore();
    return {
      ai: createRateLimiter<CreatorPlan>({ plans: AI_PLANS, store: aiStore, ...events }),
      spend: createRateLimiter<CreatorPlan>({ plans: SPEND_PLANS, store: spendStore, ...events }),
      directory: createDemoDirectory(),
      storage: 'memory',
      redisTarget: undefined,
      client: () => undefined,
      async close() {
        await Promise.all([aiStore.close(), spendStore.close()]);
      },
    };
  }
  const shared = () => client()!;
  return {
    ai: createRateLimiter<CreatorPlan>({ plans: AI_PLANS, store: createRedisStore({ client: shared, prefix }), ...events }),
    spend: createRateLimiter<CreatorPlan>({ plans: SPEND_PLANS, store: createRedisStore({ client: shared, prefix: `${prefix}-spend` }), ...events }),
    directory: createDemoDirectory(shared, `${prefix}-creators`),
    storage: 'redis',
    redisTarget: config ? `${config.host}:${config.port}` : 'provided client',
    client,
    async close() {
      if (made) await made.quit().catch(() => made?.disconnect());
      made = undefined;
    },
  };
}
