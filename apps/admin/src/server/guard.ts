// The gate every page and server action goes through (Next.js recommends checking where the data
// is used, not only in a proxy): a live server-side session of a configured admin whose password
// has not changed since, and for anything that changes state, a request from this app's own
// pages. Refused actions answer 403 (`forbidden()`), not an error's 500.
import 'server-only';

import { checkSameOrigin } from '@airl/creators/same-origin';
import { cookies, headers } from 'next/headers';
import { forbidden, redirect } from 'next/navigation';

import { getApp } from './app';
import { ADMIN_SESSION_COOKIE, passwordFingerprint } from './session';

export interface AdminSession {
  readonly name: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** The signed-in admin, or undefined: no session, ended, expired, account removed or its password changed. */
export async function currentAdmin(): Promise<AdminSession | undefined> {
  const app = getApp();
  const session = await app.sessions.read((await cookies()).get(ADMIN_SESSION_COOKIE)?.value);
  const account = session && app.config.accounts.get(session.subject);
  if (!session || !account || session.credential !== passwordFingerprint(account.passwordHash)) return undefined;
  return { name: account.name, expiresAt: session.expiresAt };
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

/** Refuses (403) a request that did not come from this app's own pages (see checkSameOrigin). */
export async function requireSameOrigin(): Promise<void> {
  const check = checkSameOrigin(await headers());
  if (!check.ok) {
    console.warn(`Refused a state-changing request: ${check.reason}`);
    forbidden();
  }
}

/** For server actions: same-origin first, then a signed-in admin; else 403 and nothing done. */
export async function requireAdminAction(): Promise<AdminSession> {
  await requireSameOrigin();
  const session = await currentAdmin();
  if (!session) forbidden();
  return session;
}
