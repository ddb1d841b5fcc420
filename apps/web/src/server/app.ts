// The app's long-lived parts, made once per server process (and kept across `next dev` reloads):
// configuration, limiters on one lazily connected Redis client, their CloudWatch metrics, and the
// AI provider.
import 'server-only';

import { detectRedisCluster } from '@airl/creators/config';
import { atMostEvery, createLimiters, type Limiters } from '@airl/creators/limiters';
import type { SessionStore } from '@airl/creators/sessions';
import { createEmfMetrics, type EmfMetrics } from '@airl/ops/emf';
import { createRateLimitAdmin, type RateLimitAdmin } from '@airl/ratelimit/admin';

import { createLocalProvider, createOpenAICompatibleProvider, type AiProvider } from './ai/provider';
import { type AppConfig, loadConfig } from './config';
import { createWebSessions } from './session';

export interface App {
  readonly config: AppConfig;
  readonly limiters: Limiters;
  /** The limiters' CloudWatch EMF metrics; undefined when `config.metrics` is off. */
  readonly metrics?: EmfMetrics | undefined;
  readonly provider: AiProvider;
  /** Creators' sessions (keys under `<prefix>-sessions:web`; in memory without Redis or through Lambda). */
  readonly sessions: SessionStore;
  /**
   * A creator's standing read from the store itself (the engine's admin view, read only): usage
   * as recorded, past the limits too, and the block and override in force.
   */
  readonly inspect: RateLimitAdmin['inspect'];
}

const holder = globalThis as { __airlWebApp?: App };

/** The app; the first call validates the configuration (throws `ConfigError`). Nothing connects here. */
export function getApp(): App {
  holder.__airlWebApp ??= assemble(loadConfig());
  return holder.__airlWebApp;
}

/**
 * The app at server start: the configuration validated, then cluster mode found out with one
 * short-lived connection (REDIS_CLUSTER unset: a server in cluster mode, as ElastiCache Serverless
 * always is, gets a cluster client; one that contradicts REDIS_CLUSTER throws `ConfigError`).
 */
export async function startApp(): Promise<App> {
  holder.__airlWebApp ??= assemble(await detectRedisCluster(loadConfig(), 'apps/web/.env.example'));
  return holder.__airlWebApp;
}

function assemble(config: AppConfig): App {
  // one EMF line a minute on stdout: the limiter alarms of @airl/infra count these decisions
  const metrics = config.metrics ? createEmfMetrics() : undefined;
  const limiters = createLimiters({ ...config.limiters, onClientError: clientErrorLog(), ...(metrics && { onEvent: metrics.onEvent }) });
  const provider = config.ai.kind === 'local' ? createLocalProvider() : createOpenAICompatibleProvider(config.ai);
  // on Redis, or through the limiter function (RATE_LIMIT_LAMBDA): shared by every instance
  const sessions = createWebSessions(config.limiters.prefix, limiters.storage === 'memory' ? undefined : () => limiters.sessionClient()!);
  const admin = createRateLimitAdmin(limiters.limiter);
  return { config, limiters, metrics, provider, sessions, inspect: (identifier, options) => admin.inspect(identifier, options) };
}

/** Logs Redis connection errors, at most one a minute: an outage must not flood the log. */
const clientErrorLog = () => atMostEvery(60_000, (error: Error) => console.warn(`Redis connection error (rate limited calls fail fast until it recovers): ${error.message}`));

/** One line about where limits are kept, for the start-up log and the page. */
export function storageNotice(app: App): string {
  if (app.limiters.storage === 'lambda') return `Rate limits and sessions on Redis through the ${app.limiters.redisTarget} (RATE_LIMIT_LAMBDA); demo plan changes stay in this process`;
  return app.limiters.storage === 'redis'
    ? `Rate limits on Redis at ${app.limiters.redisTarget}`
    : 'No Redis configured: rate limits are kept in this process\'s memory (they reset on restart and are not shared between instances). Set REDIS_URL to use Redis.';
}
