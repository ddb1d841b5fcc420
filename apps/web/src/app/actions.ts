'use server';
// Demo sign-in and sign-out. Signing in starts a server-side session holding the creator id;
// the plan is the creator's own (the directory's): a sign-in form never sets it, so a forged
// `plan` field is refused, not stored. Cross-site requests never get here (src/middleware.ts);
// each action checks the Origin again where it runs.
import { checkSameOrigin } from '@airl/creators/same-origin';
import { demoCreator } from '@airl/creators';
import { cookies, headers } from 'next/headers';
import { forbidden, redirect } from 'next/navigation';

import { getApp } from '~/server/app';
import { SESSION_COOKIE, SESSION_MAX_AGE_S } from '~/server/session';

async function requireSameOrigin(): Promise<Headers> {
  const h = await headers();
  const check = checkSameOrigin(h);
  if (!check.ok) {
    console.warn(`Refused a state-changing request: ${check.reason}`);
    forbidden();
  }
  return h;
}

export async function signIn(form: FormData): Promise<void> {
  const h = await requireSameOrigin();
  const app = getApp();
  if (!app.config.demoSignIn) forbidden();
  const raw = form.get('creatorId');
  const creatorId = typeof raw === 'string' ? raw : '';
  // plans change through the admin app (an override), never through a sign-in form
  const plan = form.get('plan');
  if (plan !== null && plan !== '') redirect('/sign-in?error=plan');
  if (!demoCreator(creatorId)) redirect('/sign-in?error=creator');
  const secure = h.get('x-forwarded-proto') === 'https';
  (await cookies()).set(SESSION_COOKIE, await app.sessions.create(creatorId), {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
    // the server ends it sooner when unused (SESSION_IDLE_S)
    maxAge: SESSION_MAX_AGE_S,
  });
  redirect('/');
}

export async function signOut(): Promise<void> {
  await requireSameOrigin();
  const jar = await cookies();
  // ended on the server: a copy of the cookie no longer opens anything
  await getApp().sessions.end(jar.get(SESSION_COOKIE)?.value);
  jar.delete(SESSION_COOKIE);
  redirect('/sign-in');
}
