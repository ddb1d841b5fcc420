// Sign-in attempts, limited by this project's own engine: failed attempts per account name and per
// client address over a sliding 15 minutes. Each attempt is reserved before the password is
// checked (atomic, so parallel guesses cannot slip past the limit) and refunded when it succeeds:
// only failures count.
import { createRateLimiter, type PlansConfig, type RateLimiter, type Reservation, type Store } from '@airl/ratelimit';

import { type AdminAccount, normalizeName } from './accounts';
import { decoyHash, verifyPassword } from './passwords';

/** Failed sign-ins allowed per account name, and per client address, in a sliding 15 minutes. */
export const SIGN_IN_PLANS = {
  account: { limits: [{ name: 'failures-per-account', limit: 5, window: '15 m' }] },
  // higher: several admins may share an address (an office, a VPN)
  address: { limits: [{ name: 'failures-per-address', limit: 20, window: '15 m' }] },
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

export type SignInOutcome =
  | { readonly ok: true; readonly name: string }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'limited'; readonly retryAfterMs: number };

export interface SignInDeps {
  readonly limiter: RateLimiter<SignInPlan>;
  readonly accounts: ReadonlyMap<string, AdminAccount>;
}

/**
 * Checks a sign-in: the address's and the name's limits first (a limited attempt never reaches
 * the password check), then the password. Unknown names cost a decoy verification, so neither the
 * answer nor its timing says which names exist.
 */
export async function attemptSignIn(deps: SignInDeps, attempt: { username: string; password: string; address: string }): Promise<SignInOutcome> {
  const name = normalizeName(attempt.username).slice(0, 64) || '-';
  const byAddress = await deps.limiter.reserve(`address:${attempt.address}`, { plan: 'address' });
  if (!byAddress.allowed) return { ok: false, reason: 'limited', retryAfterMs: byAddress.retryAfterMs };
  const byAccount = await deps.limiter.reserve(`account:${name}`, { plan: 'account' });
  if (!byAccount.allowed) {
    // refused before any password check: not a failure of this address
    await refund(deps.limiter, byAddress.reservation);
    return { ok: false, reason: 'limited', retryAfterMs: byAccount.retryAfterMs };
  }
  const account = deps.accounts.get(name);
  const matches = await verifyPassword(account?.passwordHash ?? (await decoyHash()), attempt.password);
  if (account && matches) {
    await Promise.all([refund(deps.limiter, byAddress.reservation), refund(deps.limiter, byAccount.reservation)]);
    return { ok: true, name: account.name };
  }
  // a failure stays counted; settling just closes the reservations
  await Promise.all([keep(deps.limiter, byAddress.reservation), keep(deps.limiter, byAccount.reservation)]);
  return { ok: false, reason: 'invalid' };
}

async function refund(limiter: RateLimiter<SignInPlan>, reservation: Reservation | undefined) {
  if (reservation) await limiter.refund(reservation);
}

async function keep(limiter: RateLimiter<SignInPlan>, reservation: Reservation | undefined) {
  if (reservation) await limiter.settle(reservation, { cost: 1 });
}
