// The admin app's long-lived parts, made once per server process (and kept across `next dev`
// reloads): configuration, the same limiters as the web app (same Redis, same prefix), the
// engine's admin API over them, and the sign-in limiter. Nothing connects here: the Redis client
// is made lazily and connects on the first call.
import 'server-only';

import { detectRedisCluster } from '@airl/creators/config';
import { atMostEvery, createLimiters, type Limiters } from '@airl/creators/limiters';
import { createEmfMetrics, type EmfMetrics } from '@airl/ops/emf';
import { createMemoryStore, type RateLimiter } from '@airl/ratelimit';
import { createPlanEditor, createRateLimitAdmin, type PlanEditor, type RateLimitAdmin } from '@airl/ratelimit/admin';
import { createRedisStore, type RedisClient } from '@airl/ratelimit/redis';

import type { SessionStore } from '@airl/creators/sessions';

import { type AdminConfig, loadConfig } from './config';
import { createAdminSessions } from './session';
import { createSignInLimiter, type SignInPlan } from './sign-in';

export interface AdminApp {
  readonly config: AdminConfig;
  /** The web app's limiters: the admin API reads and changes the same keys. */
  readonly limiters: Limiters;
  readonly admin: RateLimitAdmin;
  /** Changes plan sizes on every instance; undefined when the store cannot keep them (Lambda). */
  readonly plans: PlanEditor | undefined;
  /** Failed sign-ins per account and per address (keys under `<prefix>-admin-sign-in`). */
  readonly signIn: RateLimiter<SignInPlan>;
  /** Admin sessions (keys under `<prefix>-sessions:admin`; in memory without Redis or through Lambda). */
  readonly sessions: SessionStore;
  /** The limiters' CloudWatch EMF metrics (the same series as the web app's); undefined when `config.metrics` is off. */
  readonly metrics: EmfMetrics | undefined;
  close(): Promise<void>;
}

export interface CreateAdminAppOptions {
  /** A client to use instead of one made from the configuration (tests). Not closed by `close()`. */
  client?: RedisClient;
  /** Receives Redis connection errors, for the log. */
  onClientError?: (error: Error) => void;
  /** Where the EMF lines go when `config.metrics` is on (tests). @default a line on stdout */
  writeMetrics?: (line: string) => void;
}

/** Assembles the app from a configuration. */
export function createAdminApp(config: AdminConfig, options: CreateAdminAppOptions = {}): AdminApp {
  // the admin's checks and resets are limiter decisions too: the same alarms count them
  const metrics = config.metrics ? createEmfMetrics(options.writeMetrics ? { write: options.writeMetrics } : {}) : undefined;
  const limiters = createLimiters({
    ...config.limiters,
    ...(options.client && { client: options.client }),
    ...(options.onClientError && { onClientError: options.onClientError }),
    ...(metrics && { onEvent: metrics.onEvent }),
  });
  const client = limiters.client();
  // the shared client, passed as an object: this store's close() never closes it (the limiters'
  // store does), only stops what the store itself runs (its timeout sweeper, its subscriber)
  const store = client ? createRedisStore({ client, prefix: `${config.limiters.prefix}-admin-sign-in` }) : createMemoryStore();
  const signIn = createSignInLimiter(store);
  // on Redis, or through the limiter function (RATE_LIMIT_LAMBDA): shared by every instance
  const sessionClient = limiters.sessionClient();
  const sessions = createAdminSessions(config.limiters.prefix, sessionClient ? () => sessionClient : undefined);
  return {
    config,
    limiters,
    admin: createRateLimitAdmin(limiters.limiter),
    plans: limiters.storage === 'lambda' ? undefined : createPlanEditor(limiters.limiter),
    signIn,
    sessions,
    metrics,
    async close() {
      await signIn.close();
      // the limiter closes only a store it made: this one is closed here, before the client goes
      await store.close?.();
      await limiters.close();
      metrics?.close();
    },
  };
}

const holder = globalThis as { __airlAdminApp?: AdminApp };

/** The app; the first call validates the configuration (throws `ConfigError`). Nothing connects here. */
export function getApp(): AdminApp {
  holder.__airlAdminApp ??= createAdminApp(loadConfig(), { onClientError: clientErrorLog() });
  return holder.__airlAdminApp;
}

/**
 * The app at server start: the configuration validated, then cluster mode found out with one
 * short-lived connection (REDIS_CLUSTER unset: a server in cluster mode, as ElastiCache Serverless
 * always is, gets a cluster client; one that contradicts REDIS_CLUSTER throws `ConfigError`).
 */
export async function startApp(): Promise<AdminApp> {
  holder.__airlAdminApp ??= createAdminApp(await detectRedisCluster(loadConfig(), 'apps/admin/.env.example'), { onClientError: clientErrorLog() });
  return holder.__airlAdminApp;
}

/** Logs Redis connection errors, at most one a minute: an outage must not flood the log. */
const clientErrorLog = () => atMostEvery(60_000, (error: Error) => console.warn(`Redis connection error (admin pages fail until it recovers): ${error.message}`));

/** One line about where the data is, for the start-up log and the pages. */
export function storageNotice(app: AdminApp): string {
  if (app.limiters.storage === 'lambda') {
    return `Reading and changing rate limits on Redis through the ${app.limiters.redisTarget} (RATE_LIMIT_LAMBDA); sign-in attempts are limited per instance`;
  }
  return app.limiters.storage === 'redis'
    ? `Reading and changing rate limits on Redis at ${app.limiters.redisTarget} (prefix '${app.config.limiters.prefix}')`
    : "No Redis configured: this app sees only its own process's memory, not the web app's data. Set REDIS_URL (the same as the web app's) to manage its creators.";
}
