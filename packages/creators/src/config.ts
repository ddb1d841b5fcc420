// Entry point `@airl/creators/config`: what both apps' configurations read the same way (the
// limiters' Redis, the session secret, true/false flags), collecting every mistake in `problems`
// so that each app reports them all at start, with the variable to fix.
import { randomBytes } from 'node:crypto';

import { RateLimitConfigError } from '@airl/ratelimit';
import { detectClusterMode, parseFlag } from '@airl/ratelimit/redis';

import { type LimitersConfig, limitersConfigFromEnv } from './limiters';

export type Env = Readonly<Record<string, string | undefined>>;

/** The configuration is invalid; `problems` has one line per mistake. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  /** @param example the file that lists every variable, named in the message */
  constructor(
    readonly problems: readonly string[],
    example: string,
  ) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee ${example}.`);
  }
}

/** A true/false variable; undefined when unset (or wrong, with the mistake in `problems`). */
export function envFlag(env: Env, name: string, problems: string[]): boolean | undefined {
  try {
    return parseFlag(name, env[name]);
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
}

/** The limiters' Redis and prefix (`limitersConfigFromEnv`), and the Redis settings that contradict each other. */
export function readLimiters(env: Env, problems: string[]): LimitersConfig {
  let limiters: LimitersConfig = { redis: undefined, prefix: 'ratelimit' };
  try {
    limiters = limitersConfigFromEnv(env);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (env.REDIS_TLS_CA_FILE && !limiters.redis?.tls && limiters.redis) problems.push('REDIS_TLS_CA_FILE is set but TLS is off: set REDIS_TLS=true or use a rediss:// URL');
  if ((env.REDIS_PASSWORD || env.REDIS_AUTH_TOKEN) && !env.REDIS_URL && !env.ELASTICACHE_REDIS_HOST && !env.REDIS_HOST) {
    problems.push('REDIS_AUTH_TOKEN / REDIS_PASSWORD is set but no Redis is: set REDIS_URL or ELASTICACHE_REDIS_HOST');
  }
  return limiters;
}

/**
 * Cluster mode, found out once at start-up: with `REDIS_CLUSTER` unset the server is asked, and one
 * in cluster mode (ElastiCache Serverless always is) gets a cluster client; a `REDIS_CLUSTER` the
 * server contradicts throws {@link ConfigError} naming the fix. A server that cannot be reached
 * leaves the configuration as it is (calls fail over to the limiter's policy; a cluster-mode server
 * then answers MOVED, and the store's error names REDIS_CLUSTER=true). `example`: the app's file
 * that lists every variable.
 */
export async function detectRedisCluster<C extends { readonly limiters: LimitersConfig }>(config: C, example: string): Promise<C> {
  const redis = config.limiters.redis;
  if (!redis) return config;
  try {
    const found = await detectClusterMode(redis);
    return found === redis ? config : { ...config, limiters: { ...config.limiters, redis: found } };
  } catch (error) {
    if (error instanceof RateLimitConfigError) throw new ConfigError([error.message], example);
    throw error;
  }
}

export interface SessionSecret {
  /** HMAC key of the session cookie. */
  readonly secret: Uint8Array;
  /** Why the secret is not from SESSION_SECRET, if it is not. */
  readonly note: string | undefined;
}

/**
 * The session cookie's key: SESSION_SECRET (32 characters or more); required in production
 * unless `demo` (then a random key: sessions end with the process); else `devSecret`, a fixed
 * key so sessions survive `next dev` restarts.
 */
export function readSessionSecret(env: Env, o: { production: boolean; demo: boolean; devSecret: string }, problems: string[]): SessionSecret {
  if (env.SESSION_SECRET) {
    if (env.SESSION_SECRET.length < 32) problems.push('SESSION_SECRET must be at least 32 characters (for example: openssl rand -base64 32)');
    return { secret: new TextEncoder().encode(env.SESSION_SECRET), note: undefined };
  }
  if (o.production && o.demo) {
    return { secret: new Uint8Array(randomBytes(32)), note: 'SESSION_SECRET is not set: using a random secret, so sessions end when the server restarts' };
  }
  if (o.production) problems.push('SESSION_SECRET is required in production (at least 32 characters, for example: openssl rand -base64 32)');
  return { secret: new TextEncoder().encode(o.devSecret), note: 'SESSION_SECRET is not set: using the development secret' };
}
