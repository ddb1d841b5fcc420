// The app's configuration, read from the environment once and validated as a whole: every
// mistake is reported at start with the variable to fix, instead of failing on the first request.
import { type ModelPricing, DEFAULT_PRICING } from '@airl/creators';
import { shownValue } from '@airl/ratelimit';
import { ConfigError, type Env, envFlag, readLimiters, readSessionSecret } from '@airl/creators/config';
import type { LimitersConfig } from '@airl/creators/limiters';

export { ConfigError } from '@airl/creators/config';

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

// a fixed secret for development only, so sessions survive `next dev` restarts
const DEV_SECRET = 'airl-development-session-secret-not-for-production';

function price(env: Env, name: string, fallback: number, problems: string[]): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) problems.push(`${shownValue(name, v)} must be a number of cents per million tokens (>= 0)`);
  return n;
}

/** Reads and validates the configuration; throws {@link ConfigError} listing every mistake. */
export function loadConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';

  const limiters = readLimiters(env, problems);

  const demoSignIn = envFlag(env, 'DEMO_SIGN_IN', problems) ?? !production;

  const session = readSessionSecret(env, { production, demo: demoSignIn, devSecret: DEV_SECRET }, problems);

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
      problems.push(`${shownValue('AI_BASE_URL', env.AI_BASE_URL)} must be an http(s) URL such as https://api.openai.com/v1`);
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

  if (problems.length > 0) throw new ConfigError(problems, 'apps/web/.env.example');
  return { production, limiters, sessionSecret: session.secret, sessionSecretNote: session.note, demoSignIn, testRedisToken, ai, pricing };
}
