// The gate every page and server action goes through (Next.js recommends checking where the data
// is used, not only in a proxy): a valid session cookie of a configured admin, and for anything
// that changes state, a request from this app's own pages.
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';

import { getApp } from './app';
import { checkSameOrigin } from './csrf';
import { ADMIN_SESSION_COOKIE, type AdminSession, readSessionToken } from './session';

/** The signed-in admin, or undefined. An account removed from the configuration has no session. */
export async function currentAdmin(): Promise<AdminSession | undefined> {
  const app = getApp();
  const session = await readSessionToken((await cookies()).get(ADMIN_SESSION_COOKIE)?.value, app.config.sessionSecret);
  return session && app.config.accounts.has(session.name) ? session : undefined;
}

/** Where to go after signing in: a path of this app only (never `//host` or a URL). */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])[^\s]*$/.test(value) ? value : '/';
}

/** For pages: the signed-in admin, or a redirect to the sign-in page that comes back to `from`. */
export async function requireAdmin(from: string): Promise<AdminSession> {
  const session = await currentAdmin();
  if (!session) redirect(from === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(safeNext(from))}`);
  return session;
}

/** Thrown when a state-changing request does not come from this app's pages. */
export class CrossSiteRequestError extends Error {
  override name = 'CrossSiteRequestError';
}

/** Refuses a request that did not come from this app's own pages (see checkSameOrigin). */
export async function requireSameOrigin(): Promise<void> {
  const check = checkSameOrigin(await headers());
  if (!check.ok) {
    console.warn(`Refused a state-changing request: ${check.reason}`);
    throw new CrossSiteRequestError(`Refused: ${check.reason}`);
  }
}

/** For server actions: same-origin first, then a signed-in admin (else to the sign-in page). */
export async function requireAdminAction(): Promise<AdminSession> {
  await requireSameOrigin();
  const session = await currentAdmin();
  if (!session) redirect('/sign-in');
  return session;
}
