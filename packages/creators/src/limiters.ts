// Entry point `@airl/creators/limiters`: the limiter both apps use, on one Redis client (or in
// memory when no Redis is configured). The web app counts; the admin app reads and resets the same
// keys, so both must build it here.
import { createMemoryStore, createRateLimiter, type RateLimiter, type RateLimitEventListener, RateLimitConfigError, shownValue } from '@airl/ratelimit';
import { createLambdaStore } from '@airl/ratelimit/lambda';
import { createRedisClient, createRedisStore, type RedisClient, redisConfigFromEnv, RedisConnectionError, type RedisConnectionConfig } from '@airl/ratelimit/redis';
import type { LambdaClient } from '@aws-sdk/client-lambda';

import { type CreatorDirectory, createDemoDirectory, within } from './creators';
import type { SessionClient } from './sessions';
import { AI_PLANS, AI_RESERVATION_TTL_MS, AI_SHARED, type CreatorPlan, isPlan, PLANS } from './plans';

/** The engine's default prefix: admin finds the creators who used the web app under `ratelimit:{<id>}`. */
export const DEFAULT_PREFIX = 'ratelimit';

/** The limiter function to reach Redis through (`RATE_LIMIT_LAMBDA`), for compute outside the cache's VPC. */
export interface LambdaConfig {
  /** Its name or ARN. */
  readonly functionName: string;
  /** Its region: from the ARN, else `AWS_REGION`. */
  readonly region: string;
}

/** Where the limiters keep their state, as read from the environment. */
export interface LimitersConfig {
  /** The Redis to use; undefined means the in-memory store (one process only), or `lambda`. */
  readonly redis: RedisConnectionConfig | undefined;
  /** Redis through the limiter function instead of a connection of this app's own. */
  readonly lambda?: LambdaConfig | undefined;
  /**
   * Key prefix of the limits (and of admins' controls, audit and anomalies); creators' plans use
   * `<prefix>-creators`.
   * @default 'ratelimit'
   */
  readonly prefix: string;
  /**
   * The plan of a creator whose plan cannot be read while Redis is unreachable (and this instance
   * never read it): `CREATOR_DEGRADED_PLAN`.
   * @default 'starter'
   */
  readonly degradedPlan?: CreatorPlan;
}

const FUNCTION_ARN = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$/;

/** `RATE_LIMIT_LAMBDA` (+ `AWS_REGION`); undefined when unset. */
function lambdaConfigFromEnv(env: Readonly<Record<string, string | undefined>>): LambdaConfig | undefined {
  const functionName = env.RATE_LIMIT_LAMBDA;
  if (!functionName) return undefined;
  const arn = FUNCTION_ARN.exec(functionName);
  if (!arn && !FUNCTION_NAME.test(functionName)) {
    throw new RateLimitConfigError(`${shownValue('RATE_LIMIT_LAMBDA', functionName)} must be the limiter function's name (letters, digits, - and _) or ARN (arn:aws:lambda:<region>:<account>:function:<name>)`);
  }
  const region = arn?.[1] ?? env.AWS_REGION;
  if (!region) throw new RateLimitConfigError('RATE_LIMIT_LAMBDA is a name, and AWS_REGION is not set: give the function ARN (it names the region) or set AWS_REGION');
  return { functionName, region };
}

/**
 * Reads {@link LimitersConfig}: the Redis variables of `redisConfigFromEnv()`, or
 * `RATE_LIMIT_LAMBDA` (the limiter function, for compute outside the cache's VPC),
 * `RATE_LIMIT_PREFIX` and `CREATOR_DEGRADED_PLAN`. Throws `RateLimitConfigError` naming the
 * variable to fix.
 */
export function limitersConfigFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LimitersConfig {
  const prefix = env.RATE_LIMIT_PREFIX || DEFAULT_PREFIX;
  if (!/^[A-Za-z0-9:_-]{1,48}$/.test(prefix)) {
    throw new RateLimitConfigError(`${shownValue('RATE_LIMIT_PREFIX', prefix)} must be 1 to 48 letters, digits, ':', '_' or '-'`);
  }
  const degraded = env.CREATOR_DEGRADED_PLAN || undefined;
  if (degraded !== undefined && !isPlan(degraded)) {
    throw new RateLimitConfigError(`${shownValue('CREATOR_DEGRADED_PLAN', degraded)} must be one of ${PLANS.join(', ')}`);
  }
  const lambda = lambdaConfigFromEnv(env);
  const redis = redisConfigFromEnv(env);
  if (lambda && redis) {
    throw new RateLimitConfigError('RATE_LIMIT_LAMBDA and a Redis (REDIS_URL / REDIS_HOST / ELASTICACHE_REDIS_HOST) are both set: the app reaches Redis either through the limiter function or directly; unset one');
  }
  const extra = degraded ? { degradedPlan: degraded } : {};
  return lambda ? { redis: undefined, lambda, prefix, ...extra } : { redis, prefix, ...extra };
}

/** Whether Redis can be used now, for a readiness check. */
export interface Readiness {
  readonly ready: boolean;
  /** What is wrong, for an operator: no host, no secret, no client library's text. */
  readonly problem?: string;
}

/** What the connection of a client says, without asking Redis: for liveness and pages. */
export type RedisState = 'memory' | 'not connected yet' | 'connected' | 'unreachable';

/** Why a PING failed, in words that hold no secret and no client library's text. */
function pingProblem(error: unknown, ms: number): string {
  if (error instanceof RedisConnectionError) return `Redis unreachable: ${error.reason.toLowerCase().replaceAll('_', ' ')} (see the server log)`;
  const code = (error as { code?: unknown }).code;
  if (code === 'ECONNREFUSED') return 'Redis unreachable: connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'Redis unreachable: host name does not resolve';
  if ((error as Error).message === 'timeout') return `Redis unreachable: no answer within ${ms} ms`;
  return 'Redis unreachable: no connection (see the server log for the cause)';
}

export interface Limiters {
  /** Requests, tokens and the monthly budget of the AI features, checked together (prefix `<prefix>`). */
  readonly limiter: RateLimiter<CreatorPlan>;
  /** Creators' plans. */
  readonly directory: CreatorDirectory;
  /** `lambda`: Redis through the limiter function (`RATE_LIMIT_LAMBDA`). */
  readonly storage: 'redis' | 'memory' | 'lambda';
  /** `host:port` of the Redis, never credentials, or the limiter function's name; undefined in memory. */
  readonly redisTarget: string | undefined;
  /** The shared client (made on first use); undefined in memory and through Lambda. */
  client(): RedisClient | undefined;
  /**
   * Where the apps' server-side sessions go: the shared client on Redis, the limiter function
   * through Lambda (its session commands), undefined in memory (sessions stay in this process).
   */
  sessionClient(): SessionClient | undefined;
  /** The shared client's connection state, without a round trip (liveness, pages). */
  redisState(): RedisState;
  /** PINGs Redis within `timeoutMs` (default 500): ready, or what is wrong. Always ready in memory. */
  readiness(timeoutMs?: number): Promise<Readiness>;
  /** Closes the limiter (its listener and timers), then the client if one was made. */
  close(): Promise<void>;
}

export interface CreateLimitersOptions extends Partial<LimitersConfig> {
  /** A client to use instead of one made from `redis` (tests). Not closed by `close()`. */
  client?: RedisClient;
  /** The Lambda client to reach `lambda` with (tests). Not closed by `close()`. */
  lambdaClient?: LambdaClient;
  /** Receives every decision, store error, change of failure mode and anomaly. */
  onEvent?: RateLimitEventListener;
  /**
   * Receives the client's connection errors (refused, reset, reconnecting...). Calls already fail
   * fast with a store error; this is for logs.
   * @default ignored (ioredis would print every one as "Unhandled error event")
   */
  onClientError?: (error: Error) => void;
}

/**
 * `fn`, called at most once per `everyMs`; the calls in between are dropped. For `onClientError`
 * logs: during an outage the client reports every reconnect, and the log must not flood.
 *
 * @example
 * createLimiters({ onClientError: atMostEvery(60_000, (e) => console.warn(`Redis: ${e.message}`)) })
 */
export function atMostEvery<A extends unknown[]>(everyMs: number, fn: (...args: A) => void, now: () => number = Date.now): (...args: A) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (...args) => {
    const t = now();
    if (t - last < everyMs) return;
    last = t;
    fn(...args);
  };
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
  // the old app watched for bursts (2 x the hourly limit within 5 minutes, its rule exactly);
  // this one also for denial storms and cost spikes; every plan is also charged against the AI
  // provider's shared budget (AI_SHARED)
  const limiterOptions = { plans: AI_PLANS, shared: AI_SHARED, anomalies: { burst: { reference: 'hourly' } }, reservationTtl: AI_RESERVATION_TTL_MS, ...(options.onEvent && { onEvent: options.onEvent }) };

  if (options.lambda && !given) {
    const { functionName, region } = options.lambda;
    let lambdaState: RedisState = 'not connected yet';
    const store = createLambdaStore({ functionName, region, ...(options.lambdaClient && { client: options.lambdaClient }) });
    const limiter = createRateLimiter<CreatorPlan>({ ...limiterOptions, store });
    return {
      limiter,
      // the demo plans stay in this process: the function serves the limiter's operations only
      directory: createDemoDirectory(),
      storage: 'lambda',
      redisTarget: `Lambda function ${functionName}`,
      client: () => undefined,
      sessionClient: () => store.sessions,
      // no connection of its own to look at: the last readiness check says
      redisState: () => lambdaState,
      async readiness(timeoutMs = 500) {
        try {
          // one cheap read through the function: it answers only when it reaches Redis
          await within(store.control('readiness-probe'), timeoutMs, () => new Error('timeout'));
          lambdaState = 'connected';
          return { ready: true };
        } catch (error) {
          lambdaState = 'unreachable';
          return { ready: false, problem: (error as Error).message === 'timeout' ? `limiter function: no answer within ${timeoutMs} ms` : 'limiter function or its Redis unreachable (see the server log)' };
        }
      },
      async close() {
        await limiter.close();
        await store.close();
      },
    };
  }
  if (!redisBacked) {
    const store = createMemoryStore();
    // plan sizes admins change in the admin app apply at once (the Lambda store cannot keep them)
    const limiter = createRateLimiter<CreatorPlan>({ ...limiterOptions, store, livePlans: true });
    return {
      limiter,
      directory: createDemoDirectory(),
      storage: 'memory',
      redisTarget: undefined,
      client: () => undefined,
      sessionClient: () => undefined,
      redisState: () => 'memory',
      readiness: () => Promise.resolve({ ready: true }),
      async close() {
        await limiter.close();
        await store.close();
      },
    };
  }
  const shared = () => client()!;
  // a given client stays its owner's; one made here is the store's to close
  const store = createRedisStore({ client: given ?? shared, prefix });
  const limiter = createRateLimiter<CreatorPlan>({ ...limiterOptions, store, livePlans: true });
  return {
    limiter,
    directory: createDemoDirectory(shared, `${prefix}-creators`, { ...(options.degradedPlan && { degradedPlan: options.degradedPlan }) }),
    storage: 'redis',
    redisTarget: config ? `${config.host}:${config.port}` : 'provided client',
    client,
    sessionClient: client,
    redisState() {
      const c = given ?? made;
      if (!c || c.status === 'wait') return 'not connected yet';
      return c.status === 'ready' ? 'connected' : 'unreachable';
    },
    async readiness(timeoutMs = 500) {
      try {
        await within(shared().ping(), timeoutMs, () => new Error('timeout'));
        return { ready: true };
      } catch (error) {
        return { ready: false, problem: pingProblem(error, timeoutMs) };
      }
    },
    async close() {
      await limiter.close();
      await store.close?.();
      made = undefined;
    },
  };
}
