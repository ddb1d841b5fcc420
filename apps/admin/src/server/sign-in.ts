// Sign-in attempts, limited by this project's own engine so that guessing is slow but nobody can
// lock an admin out. Failures count per account AND source together, per source, and per account
// over all unknown sources, each with longer windows behind the short one (back-off: 5 failures
// wait minutes, 20 wait a day). A browser that signed in to an account before carries a signed
// "known device" cookie for it: its attempts count only against that device, so no one else's
// guessing can keep the real admin out. Each attempt is reserved before the password is checked
// (atomic: parallel guesses cannot slip past) and refunded when it succeeds: only failures count.
import 'server-only';

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

import { createRateLimiter, type PlansConfig, type RateLimiter, type Reservation, type Store } from '@airl/ratelimit';

import { type AdminAccount, normalizeName } from './accounts';
import { decoyHash, verifyPassword } from './passwords';

/**
 * One guesser's budget, backing off: 5 failures per 15 minutes, 10 per hour, 20 per day. The
 * tier of one account from one source and of one known device: the same budget, limits named
 * after the tier (`pair-15m`, `device-1d`).
 */
const backingOff = <T extends string>(tier: T) =>
  ({
    limits: [
      { name: `${tier}-15m`, limit: 5, window: '15 m' },
      { name: `${tier}-1h`, limit: 10, window: '1 h' },
      { name: `${tier}-1d`, limit: 20, window: '1 d' },
    ],
  }) as const;

/** Failed sign-ins allowed, by what they are counted under. Each plan's limits all apply. */
export const SIGN_IN_PLANS = {
  // one account from one source: the guesser's own budget
  pair: backingOff('pair'),
  // one source, every account (higher: admins may share an office or VPN address)
  source: {
    limits: [
      { name: 'source-15m', limit: 20, window: '15 m' },
      { name: 'source-1d', limit: 100, window: '1 d' },
    ],
  },
  // one account from every unknown source together: stops guessing spread over many addresses;
  // known devices are not counted here, so it cannot keep the admin out of a browser they used
  account: {
    limits: [
      { name: 'account-15m', limit: 30, window: '15 m' },
      { name: 'account-1d', limit: 200, window: '1 d' },
    ],
  },
  // one known device of the account (a stolen device cookie still guesses slowly)
  device: backingOff('device'),
} as const satisfies PlansConfig;

export type SignInPlan = keyof typeof SIGN_IN_PLANS;

/** The sign-in limiter on `store` (its own key prefix): no top-consumer boards, no admin controls. */
export function createSignInLimiter(store: Store): RateLimiter<SignInPlan> {
  return createRateLimiter<SignInPlan>({
    plans: SIGN_IN_PLANS,
    store,
    controls: false,
    topConsumers: false,
    // Redis down: each instance keeps its own count rather than letting every guess through
    whenStoreFails: 'fallback',
  });
}

/** The cookie naming a browser that signed in to an account before. */
export const KNOWN_DEVICE_COOKIE = 'airl_admin_device';
/** How long a browser stays known after its last sign-in, in seconds (90 days). */
export const KNOWN_DEVICE_TTL_S = 90 * 24 * 3600;

export interface KnownDevice {
  readonly name: string;
  readonly id: string;
}

const mac = (payload: string, secret: Uint8Array) => createHmac('sha256', secret).update(`airl-known-device:${payload}`).digest('base64url');

/** A signed known-device value for `name` (a new random device id unless `id` is given). */
export function knownDeviceToken(name: string, secret: Uint8Array, id = randomBytes(16).toString('base64url')): string {
  const payload = `${Buffer.from(name).toString('base64url')}.${id}`;
  return `${payload}.${mac(payload, secret)}`;
}

/** The device a known-device value names; undefined when it is missing or not signed with `secret`. */
export function readKnownDevice(token: string | undefined, secret: Uint8Array): KnownDevice | undefined {
  const m = token ? /^([A-Za-z0-9_-]{1,100})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token) : null;
  if (!m) return undefined;
  const expected = Buffer.from(mac(`${m[1]}.${m[2]}`, secret));
  const given = Buffer.from(m[3]!);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  return { name: Buffer.from(m[1]!, 'base64url').toString(), id: m[2]! };
}

export type SignInOutcome =
  | { readonly ok: true; readonly name: string; readonly passwordHash: string }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'limited'; readonly retryAfterMs: number };

export interface SignInDeps {
  readonly limiter: RateLimiter<SignInPlan>;
  readonly accounts: ReadonlyMap<string, AdminAccount>;
}

export interface SignInAttempt {
  readonly username: string;
  readonly password: string;
  /** The client's address, as far as it can be trusted (`clientAddress`). */
  readonly address: string;
  /** The browser's known-device cookie, already verified (`readKnownDevice`). */
  readonly device?: KnownDevice | undefined;
}

/**
 * Checks a sign-in: the limits first (a limited attempt never reaches the password check), then
 * the password. A known device of this account is limited on its own; any other source by
 * account-and-source, source, and account. Unknown names cost a decoy verification, so neither
 * the answer nor its timing says which names exist.
 */
export async function attemptSignIn(deps: SignInDeps, attempt: SignInAttempt): Promise<SignInOutcome> {
  const name = normalizeName(attempt.username).slice(0, 64) || '-';
  const device = attempt.device?.name === name ? attempt.device : undefined;
  const checks: [string, SignInPlan][] = device
    ? [[`device:${name}:${device.id}`, 'device']]
    : [
        [`source:${attempt.address}`, 'source'],
        [`pair:${name}:${attempt.address}`, 'pair'],
        [`account:${name}`, 'account'],
      ];
  const held: Reservation[] = [];
  for (const [identifier, plan] of checks) {
    const r = await deps.limiter.reserve(identifier, { plan });
    if (!r.allowed) {
      // refused before any password check: not a failure to count anywhere
      await Promise.all(held.map((h) => deps.limiter.refund(h)));
      return { ok: false, reason: 'limited', retryAfterMs: r.retryAfterMs };
    }
    if (r.reservation) held.push(r.reservation);
  }
  const account = deps.accounts.get(name);
  const matches = await verifyPassword(account?.passwordHash ?? (await decoyHash()), attempt.password);
  if (account && matches) {
    await Promise.all(held.map((h) => deps.limiter.refund(h)));
    return { ok: true, name: account.name, passwordHash: account.passwordHash };
  }
  // a failure stays counted; settling just closes the reservations
  await Promise.all(held.map((h) => deps.limiter.settle(h, { cost: 1 })));
  return { ok: false, reason: 'invalid' };
}
