// The creator's session: a random token in an httpOnly cookie; the session itself is kept on the
// server (`@airl/creators/sessions`: Redis with a TTL, or this process's memory without Redis)
// and holds only the creator id. The plan is looked up on the server on every request, never
// read from the client. Signing out (or an admin's "sign out everywhere") deletes it: a copy of
// the cookie opens nothing afterwards. Not marked server-only: the Playwright set-up (plain Node)
// makes sessions with it.
import { cookieFrom, createSessionStore, type SessionClient, type SessionStore } from '@airl/creators/sessions';

export const SESSION_COOKIE = 'airl_session';

/**
 * Sliding: a session unused for a day ends; each use pushes that back, up to 7 days from sign-in.
 * A creator working daily is not signed out mid-week, while a forgotten or copied cookie is dead
 * a day after its last use, and one kept in use still ends after a week.
 */
export const SESSION_IDLE_S = 24 * 3600;
/** The longest a session lasts, however much it is used. */
export const SESSION_MAX_AGE_S = 7 * 24 * 3600;

/** The creators' sessions, under `<prefix>-sessions:web` on the app's Redis, else in memory. */
export function createWebSessions(prefix: string, client: (() => SessionClient) | undefined): SessionStore {
  return createSessionStore({ client, prefix: `${prefix}-sessions:web`, maxAgeMs: SESSION_MAX_AGE_S * 1000, idleMs: SESSION_IDLE_S * 1000 });
}

/** The session cookie's value in a `Cookie` header. */
export const sessionCookieFrom = (header: string | null): string | undefined => cookieFrom(header, SESSION_COOKIE);
