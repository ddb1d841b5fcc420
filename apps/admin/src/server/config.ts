// The admin app's configuration, read from the environment once and validated as a whole: every
// mistake is reported at start with the variable to fix, instead of on the first request.
import { randomBytes } from 'node:crypto';

import { limitersConfigFromEnv, type LimitersConfig } from '@airl/creators/limiters';

import { type AdminAccount, DEMO_ADMIN, parseAdminUsers } from './accounts';

export interface AdminConfig {
  readonly production: boolean;
  /** The same Redis and prefix as the web app, so both see the same creators. */
  readonly limiters: LimitersConfig;
  /** Who may sign in, by name. */
  readonly accounts: ReadonlyMap<string, AdminAccount>;
  /** The demo account (admin / demo-password) is on. */
  readonly demoAdmin: boolean;
  /** HMAC key of the session cookie. */
  readonly sessionSecret: Uint8Array;
  /**
   * Proxies in front of the app that append to X-Forwarded-For; undefined: no client address can
   * be trusted, and every client shares one address for the sign-in limit.
   */
  readonly trustedProxyCount: number | undefined;
  /** Things to say at start that do not stop it (a random secret, the demo account...). */
  readonly notes: readonly string[];
}

/** The configuration is invalid; `problems` has one line per mistake. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nSee apps/admin/.env.example.`);
  }
}

// a fixed secret for development only, so sessions survive `next dev` restarts
const DEV_SECRET = 'airl-admin-development-session-secret-not-for-production';

type Env = Readonly<Record<string, string | undefined>>;

function flag(env: Env, name: string, problems: string[]): boolean | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  problems.push(`${name}='${v}' must be true or false`);
  return undefined;
}

/** Reads and validates the configuration; throws {@link ConfigError} listing every mistake. */
export function loadConfig(env: Env = process.env): AdminConfig {
  const problems: string[] = [];
  const notes: string[] = [];
  const production = env.NODE_ENV === 'production';

  let limiters: LimitersConfig = { redis: undefined, prefix: 'ratelimit' };
  try {
    limiters = limitersConfigFromEnv(env);
  } catch (error) {
    problems.push((error as Error).message);
  }
  if ((env.REDIS_PASSWORD || env.REDIS_AUTH_TOKEN) && !env.REDIS_URL && !env.ELASTICACHE_REDIS_HOST && !env.REDIS_HOST) {
    problems.push('REDIS_AUTH_TOKEN / REDIS_PASSWORD is set but no Redis is: set REDIS_URL or ELASTICACHE_REDIS_HOST');
  }

  const demoAdmin = flag(env, 'DEMO_ADMIN', problems) ?? !production;
  const parsed = parseAdminUsers(env.ADMIN_USERS);
  problems.push(...parsed.problems);
  const accounts = new Map(parsed.accounts.map((a) => [a.name, a]));
  if (demoAdmin) {
    if (accounts.has(DEMO_ADMIN.name)) problems.push(`ADMIN_USERS has '${DEMO_ADMIN.name}', the demo account's name: rename it or set DEMO_ADMIN=false`);
    accounts.set(DEMO_ADMIN.name, { name: DEMO_ADMIN.name, passwordHash: DEMO_ADMIN.passwordHash, demo: true });
    notes.push(`Demo admin account on (${DEMO_ADMIN.name} / ${DEMO_ADMIN.password}): set DEMO_ADMIN=false and ADMIN_USERS for real use`);
  } else if (parsed.accounts.length === 0 && parsed.problems.length === 0) {
    problems.push(
      production
        ? 'ADMIN_USERS is required in production: name:<argon2id hash> entries (make a hash with: pnpm --filter @airl/admin hash-password <name>)'
        : 'ADMIN_USERS is empty and DEMO_ADMIN=false: nobody could sign in',
    );
  }

  let sessionSecret = new TextEncoder().encode(DEV_SECRET);
  if (env.SESSION_SECRET) {
    if (env.SESSION_SECRET.length < 32) problems.push('SESSION_SECRET must be at least 32 characters (for example: openssl rand -base64 32)');
    sessionSecret = new TextEncoder().encode(env.SESSION_SECRET);
  } else if (production && !demoAdmin) {
    problems.push('SESSION_SECRET is required in production (at least 32 characters, for example: openssl rand -base64 32)');
  } else if (production) {
    // a demo run without a secret: sessions last as long as this process
    sessionSecret = new Uint8Array(randomBytes(32));
    notes.push('SESSION_SECRET is not set: using a random secret, so sessions end when the server restarts');
  } else {
    notes.push('SESSION_SECRET is not set: using the development secret');
  }

  let trustedProxyCount: number | undefined;
  if (env.TRUSTED_PROXY_COUNT) {
    const n = Number(env.TRUSTED_PROXY_COUNT);
    if (!Number.isSafeInteger(n) || n < 1 || n > 10) problems.push(`TRUSTED_PROXY_COUNT='${env.TRUSTED_PROXY_COUNT}' must be the number of proxies in front of the app (1 to 10)`);
    else trustedProxyCount = n;
  } else if (production) {
    notes.push('TRUSTED_PROXY_COUNT is not set: client addresses cannot be trusted, so the per-address sign-in limit is shared by all clients');
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return { production, limiters, accounts, demoAdmin, sessionSecret, trustedProxyCount, notes };
}
