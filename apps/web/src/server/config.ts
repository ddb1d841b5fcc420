// The app's configuration, read from the environment once and validated as a whole: every
// mistake is reported at start with the variable to fix, instead of failing on the first request.
import { randomBytes } from 'node:crypto';

import { type ModelPricing, DEFAULT_PRICING } from '@airl/creators';
import { limitersConfigFromEnv, type LimitersConfig } from '@airl/creators/limiters';

export type AiConfig = { kind: 'local' } | { kind: 'openai-compatible'; baseURL: string; apiKey: string | undefined; model: string };

export interface AppConfig {
  readonly production: boolean;
  readonly limiters: LimitersConfig;
  /** HMAC key of the session cookie. */
  readonly sessionSecret: Uint8Array;
  /** Why the session secret is not from SESSION_SECRET, if it is not. */
  readonly sessionSecretNote: string | undefined;
  /** The demo sign-in page (pick a creator and plan) is on. */
  readonly demoSignIn: boolean;
  /** Bearer token of GET /api/test-redis in production; undefined turns it off there. */
  readonly testRedisToken: string | undefined;
  readonly ai: AiConfig;
  readonly pricing: ModelPricing;
}

/** The configuration is invalid; `problems` has one line per mistake. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee apps/web/.env.example.`);
  }
}

// a fixed secret for development only, so sessions survive `next dev` restarts
const DEV_SECRET = 'airl-development-session-secret-not-for-production';

type Env = Readonly<Record<string, string | undefined>>;

function flag(env: Env, name: string, problems: string[]): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  problems.push(`${name}='${v}' must be true or false`);
  return undefined;
}

function price(env: Env, name: string, fallback: number, problems: string[]): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) problems.push(`${name}='${v}' must be a number of cents per million tokens (>= 0)`);
  return n;
}

/** Reads and validates the configuration; throws {@link ConfigError} listing every mistake. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';

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

  const demoSignIn = flag(env, 'DEMO_SIGN_IN', problems) ?? !production;

  let sessionSecret = new TextEncoder().encode(DEV_SECRET);
  let sessionSecretNote: string | undefined = 'SESSION_SECRET is not set: using the development secret';
  if (env.SESSION_SECRET) {
    if (env.SESSION_SECRET.length < 32) problems.push('SESSION_SECRET must be at least 32 characters (for example: openssl rand -base64 32)');
    sessionSecret = new TextEncoder().encode(env.SESSION_SECRET);
    sessionSecretNote = undefined;
  } else if (production) {
    if (demoSignIn) {
      // a demo run without a secret: sessions last as long as this process
      sessionSecret = new Uint8Array(randomBytes(32));
      sessionSecretNote = 'SESSION_SECRET is not set: using a random secret, so sessions end when the server restarts';
    } else {
      problems.push('SESSION_SECRET is required in production (at least 32 characters, for example: openssl rand -base64 32)');
    }
  }

  const testRedisToken = env.TEST_REDIS_TOKEN || undefined;
  if (testRedisToken && testRedisToken.length < 16) problems.push('TEST_REDIS_TOKEN must be at least 16 characters');

  let ai: AiConfig = { kind: 'local' };
  if (env.AI_BASE_URL) {
    let ok = true;
    try {
      const url = new URL(env.AI_BASE_URL);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    } catch {
      ok = false;
      problems.push(`AI_BASE_URL='${env.AI_BASE_URL}' must be an http(s) URL such as https://api.openai.com/v1`);
    }
    if (!env.AI_MODEL) problems.push('AI_MODEL is required with AI_BASE_URL (for example gpt-4o-mini)');
    if (ok && env.AI_MODEL) ai = { kind: 'openai-compatible', baseURL: env.AI_BASE_URL, apiKey: env.AI_API_KEY || undefined, model: env.AI_MODEL };
  } else if (env.AI_API_KEY || env.AI_MODEL) {
    problems.push('AI_API_KEY / AI_MODEL are set but AI_BASE_URL is not: set AI_BASE_URL to use an OpenAI-compatible provider');
  }

  const pricing: ModelPricing = {
    inputCentsPerMillion: price(env, 'AI_PRICE_INPUT_CENTS_PER_MTOK', DEFAULT_PRICING.inputCentsPerMillion, problems),
    outputCentsPerMillion: price(env, 'AI_PRICE_OUTPUT_CENTS_PER_MTOK', DEFAULT_PRICING.outputCentsPerMillion, problems),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return { production, limiters, sessionSecret, sessionSecretNote, demoSignIn, testRedisToken, ai, pricing };
}
