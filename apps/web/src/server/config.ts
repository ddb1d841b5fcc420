// The app's configuration, read from the environment once and validated as a whole: every
// mistake is reported at start with the variable to fix, instead of failing on the first request.
import 'server-only';

import { AI_RESERVATION_TTL_MS, type ModelPricing, DEFAULT_PRICING } from '@airl/creators';
import { type Duration, shownValue, toMs } from '@airl/ratelimit';
import { ConfigError, type Env, envFlag, readLimiters, readSessionSecret } from '@airl/creators/config';
import type { LimitersConfig } from '@airl/creators/limiters';

export { ConfigError } from '@airl/creators/config';

export type AiConfig = { kind: 'local' } | { kind: 'openai-compatible'; baseURL: string; apiKey: string | undefined; model: string };

/** How long a model call may take, retry included, before it is cancelled and refunded. */
export const DEFAULT_AI_TIMEOUT_MS = 30_000;
/** Time kept between a call's deadline and its reservation's expiry, to settle or refund it. */
export const SETTLE_MARGIN_MS = 30_000;
/** The longest AI_TIMEOUT accepted: the reservation must outlive the call and its settle. */
export const MAX_AI_TIMEOUT_MS = AI_RESERVATION_TTL_MS - SETTLE_MARGIN_MS;

export interface AppConfig {
  readonly production: boolean;
  readonly limiters: LimitersConfig;
  /** The limiter's CloudWatch EMF metrics on stdout (`RATE_LIMIT_METRICS`; on in production): the alarms of `@airl/infra` read them. */
  readonly metrics: boolean;
  /** HMAC key of the session cookie. */
  readonly sessionSecret: Uint8Array;
  /** Why the session secret is not from SESSION_SECRET, if it is not. */
  readonly sessionSecretNote: string | undefined;
  /** The demo sign-in page (pick a creator and plan) is on. */
  readonly demoSignIn: boolean;
  /** Bearer token of GET /api/test-redis in production; undefined turns it off there. */
  readonly testRedisToken: string | undefined;
  readonly ai: AiConfig;
  /** Deadline of every model call, retry included (AI_TIMEOUT). */
  readonly aiTimeoutMs: number;
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
  const metrics = envFlag(env, 'RATE_LIMIT_METRICS', problems) ?? production;

  const demoSignIn = envFlag(env, 'DEMO_SIGN_IN', problems) ?? !production;

  const session = readSessionSecret(env, { production, demo: demoSignIn, devSecret: DEV_SECRET }, problems);

  const testRedisToken = env.TEST_REDIS_TOKEN || undefined;
  if (testRedisToken && testRedisToken.length < 16) problems.push('TEST_REDIS_TOKEN must be at least 16 characters');

  const ai = readAi(env, problems);
  const aiTimeoutMs = readAiTimeout(env, problems);

  const pricing: ModelPricing = {
    inputCentsPerMillion: price(env, 'AI_PRICE_INPUT_CENTS_PER_MTOK', DEFAULT_PRICING.inputCentsPerMillion, problems),
    outputCentsPerMillion: price(env, 'AI_PRICE_OUTPUT_CENTS_PER_MTOK', DEFAULT_PRICING.outputCentsPerMillion, problems),
  };

  if (problems.length > 0) throw new ConfigError(problems, 'apps/web/.env.example');
  return { production, limiters, metrics, sessionSecret: session.secret, sessionSecretNote: session.note, demoSignIn, testRedisToken, ai, aiTimeoutMs, pricing };
}

/** How OpenAI-style secret keys start (sk-, sk-proj-, rk-...). */
const KEY_LIKE = /^(sk|rk|pk)-/i;

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The provider. AI_BASE_URL is never echoed (a key pasted there by mistake must not reach a log);
 * a hosted one needs AI_API_KEY, unless AI_ALLOW_NO_API_KEY=true (a keyless server on a private network).
 */
function readAi(env: Env, problems: string[]): AiConfig {
  if (!env.AI_BASE_URL) {
    if (env.AI_API_KEY || env.AI_MODEL) problems.push('AI_API_KEY / AI_MODEL are set but AI_BASE_URL is not: set AI_BASE_URL to use an OpenAI-compatible provider');
    return { kind: 'local' };
  }
  let url: URL | undefined;
  try {
    url = new URL(env.AI_BASE_URL);
  } catch {
    // not echoed: see above
  }
  let ok = false;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problems.push('AI_BASE_URL must be an http(s) URL such as https://api.openai.com/v1 (its value is not shown: it may hold a secret)');
  } else if (url.username || url.password) {
    problems.push('AI_BASE_URL must not hold credentials (user:password@host): put the key in AI_API_KEY');
  } else {
    ok = true;
  }
  const allowNoKey = envFlag(env, 'AI_ALLOW_NO_API_KEY', problems) ?? false;
  if (ok && !env.AI_API_KEY && !allowNoKey && !LOOPBACK.test(url!.hostname)) {
    problems.push('AI_API_KEY is required with a hosted AI_BASE_URL (only a loopback one may go without, or set AI_ALLOW_NO_API_KEY=true for a keyless server)');
    ok = false;
  }
  if (!env.AI_MODEL) problems.push('AI_MODEL is required with AI_BASE_URL (for example gpt-4o-mini)');
  // the model's name is printed at start and sent to creators with each answer: never a key pasted there
  const keyInModel = !!env.AI_MODEL && (KEY_LIKE.test(env.AI_MODEL) || env.AI_MODEL === env.AI_API_KEY);
  if (keyInModel) problems.push('AI_MODEL looks like an API key (its value is not shown): set the model name, for example gpt-4o-mini, and the key in AI_API_KEY');
  if (!ok || !env.AI_MODEL || keyInModel) return { kind: 'local' };
  return { kind: 'openai-compatible', baseURL: env.AI_BASE_URL, apiKey: env.AI_API_KEY || undefined, model: env.AI_MODEL };
}

/** AI_TIMEOUT: a duration ('30 s') or milliseconds, short enough for the reservation to outlive the call. */
function readAiTimeout(env: Env, problems: string[]): number {
  const raw = env.AI_TIMEOUT;
  if (raw === undefined || raw === '') return DEFAULT_AI_TIMEOUT_MS;
  let ms: number;
  try {
    ms = toMs((/^\d+$/.test(raw) ? Number(raw) : raw) as Duration, 'AI_TIMEOUT');
  } catch {
    problems.push("AI_TIMEOUT must be a duration such as '30 s' or a number of milliseconds");
    return DEFAULT_AI_TIMEOUT_MS;
  }
  if (ms < 1000 || ms > MAX_AI_TIMEOUT_MS) {
    problems.push(
      `AI_TIMEOUT must be between 1 s and ${MAX_AI_TIMEOUT_MS / 1000} s: a call's reservation lasts ${AI_RESERVATION_TTL_MS / 1000} s ` +
        `and must outlive the call (retry included) plus ${SETTLE_MARGIN_MS / 1000} s to settle or refund it`,
    );
    return DEFAULT_AI_TIMEOUT_MS;
  }
  return ms;
}
