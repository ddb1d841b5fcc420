// The admin session: a random token in an httpOnly, SameSite=Strict cookie; the session itself is
// kept on the server (`@airl/creators/sessions`: Redis with a TTL, or this process's memory) and
// holds the admin's name and a fingerprint of their password hash. So signing out, "sign out
// everywhere" and a changed password (a new hash in ADMIN_USERS) end sessions at once, and the
// account must still be configured on every request.
import 'server-only';

import { credentialFingerprint, createSessionStore, type SessionClient, type SessionStore } from '@airl/creators/sessions';

export const ADMIN_SESSION_COOKIE = 'airl_admin_session';

/** How long a session lasts, in seconds: a working day, not extended by use. */
export const SESSION_TTL_S = 8 * 3600;

/**
 * While Redis is unreachable, how long after Redis last confirmed a session this instance's copy
 * still answers (ms): shorter than the creators' 5 minutes, an admin session can change every
 * creator's limits (why, in the @airl/creators README).
 */
export const OUTAGE_GRACE_MS = 60_000;

/** The admin sessions, under `<prefix>-sessions:admin` on the app's Redis, else in memory. */
export function createAdminSessions(prefix: string, client: (() => SessionClient) | undefined): SessionStore {
  return createSessionStore({ client, prefix: `${prefix}-sessions:admin`, maxAgeMs: SESSION_TTL_S * 1000, outageGraceMs: OUTAGE_GRACE_MS });
}

/** What binds a session to the account's current password: a new hash ends its sessions. */
export const passwordFingerprint = (passwordHash: string): string => credentialFingerprint(passwordHash);

/** The cookie's attributes: httpOnly, SameSite=Strict, Secure over HTTPS, gone after the session's lifetime. */
export function sessionCookieOptions(secure: boolean) {
  return { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: SESSION_TTL_S } as const;
}
