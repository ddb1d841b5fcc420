// The admin app's configuration, read from the environment once and validated as a whole: every
// mistake is reported at start with the variable to fix, instead of on the first request.
import 'server-only';

import { shownValue } from '@airl/ratelimit';
import { ConfigError, type Env, envFlag, readLimiters, readSessionSecret } from '@airl/creators/config';
import type { LimitersConfig } from '@airl/creators/limiters';

import { type AdminAccount, DEMO_ADMIN, parseAdminUsers } from './accounts';

export { ConfigError } from '@airl/creators/config';

export interface AdminConfig {
  readonly production: boolean;
  /** The same Redis and prefix as the web app, so both see the same creators. */
  readonly limiters: LimitersConfig;
  /** The limiter's CloudWatch EMF metrics on stdout (`RATE_LIMIT_METRICS`; on in production): the alarms of `@airl/infra` read them. */
  readonly metrics: boolean;
  /** Who may sign in, by name. */
  readonly accounts: ReadonlyMap<string, AdminAccount>;
  /** The demo account (admin / demo-password) is on. */
  readonly demoAdmin: boolean;
  /** HMAC key of the session cookie. */
  readonly sessionSecret: Uint8Array;
  /**
   * Proxies in front of the app that append to X-Forwarded-For (`TRUSTED_PROXY_COUNT`); 0: no
   * client address can be trusted, and every client shares one address for the sign-in limits.
   * @default 1 (see {@link DEFAULT_TRUSTED_PROXY_COUNT})
   */
  readonly trustedProxyCount: number;
  /** Things to say at start that do not stop it (a random secret, the demo account...). */
  readonly notes: readonly string[];
}

// a fixed secret for development only, so sessions survive `next dev` restarts
const DEV_SECRET = 'airl-admin-development-session-secret-not-for-production';

/**
 * One proxy: the load balancer of ECS, the CloudFront of Amplify Hosting, or, under `next start`
 * with no proxy, Next.js itself (it fills X-Forwarded-For with the peer's address only when the
 * client sent none; a header the client sent is passed on as it is). A deployment behind a proxy then tells clients apart. The risk, documented in the
 * README and docs/aws-deployment.md: an app reached directly, not through a proxy, reads an
 * address the client may have written itself, so the per-source limits can be dodged; the
 * per-account limit over all unknown sources still bounds the guessing.
 */
export const DEFAULT_TRUSTED_PROXY_COUNT = 1;

/** Said at a production start without TRUSTED_PROXY_COUNT: what the default assumes. */
export const PROXY_NOTE = `TRUSTED_PROXY_COUNT is not set: assuming ${DEFAULT_TRUSTED_PROXY_COUNT} proxy (a load balancer or CloudFront) appends the client's address to X-Forwarded-For; if clients reach this app directly, set TRUSTED_PROXY_COUNT=0 (else a client-written X-Forwarded-For is trusted)`;

function readTrustedProxyCount(env: Env, problems: string[]): number {
  const raw = env.TRUSTED_PROXY_COUNT;
  if (raw === undefined || raw === '') return DEFAULT_TRUSTED_PROXY_COUNT;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 10) {
    problems.push(`${shownValue('TRUSTED_PROXY_COUNT', raw)} must be the number of proxies in front of the app (0 to 10; 0 trusts no address)`);
    return DEFAULT_TRUSTED_PROXY_COUNT;
  }
  return n;
}

/** Reads and validates the configuration; throws {@link ConfigError} listing every mistake. */
export function loadConfig(env: Env = process.env): AdminConfig {
  const problems: string[] = [];
  const notes: string[] = [];
  const production = env.NODE_ENV === 'production';

  const limiters = readLimiters(env, problems);
  const metrics = envFlag(env, 'RATE_LIMIT_METRICS', problems) ?? production;

  const demoAdmin = envFlag(env, 'DEMO_ADMIN', problems) ?? !production;
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

  const session = readSessionSecret(env, { production, demo: demoAdmin, devSecret: DEV_SECRET }, problems);
  if (session.note) notes.push(session.note);

  const trustedProxyCount = readTrustedProxyCount(env, problems);
  if (production && !env.TRUSTED_PROXY_COUNT) notes.push(PROXY_NOTE);

  if (problems.length > 0) throw new ConfigError(problems, 'apps/admin/.env.example');
  return { production, limiters, metrics, accounts, demoAdmin, sessionSecret: session.secret, trustedProxyCount, notes };
}
