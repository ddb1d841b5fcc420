'use server';
// Demo sign-in and sign-out. Signing in sets a signed httpOnly cookie holding the creator id; the
// plan picked here is stored on the server (the stand-in for a subscription change).
import { demoCreator, isPlan, isRedisFailure } from '@airl/creators';
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';

import { getApp } from '~/server/app';
import { createSessionToken, SESSION_COOKIE, SESSION_MAX_AGE_S } from '~/server/session';

export async function signIn(form: FormData): Promise<void> {
  const app = getApp();
  if (!app.config.demoSignIn) throw new Error('Demo sign-in is turned off (DEMO_SIGN_IN=false).');
  const raw = form.get('creatorId');
  const creatorId = typeof raw === 'string' ? raw : '';
  const plan = form.get('plan');
  if (!demoCreator(creatorId)) throw new Error(`Unknown demo creator '${creatorId}'.`);
  if (isPlan(plan)) {
    try {
      await app.limiters.directory.setPlan(creatorId, plan);
    } catch (error) {
      if (!isRedisFailure(error)) throw error;
      redirect('/sign-in?unavailable=plan');
    }
  }
  const secure = (await headers()).get('x-forwarded-proto') === 'https';
  (await cookies()).set(SESSION_COOKIE, await createSessionToken(creatorId, app.config.sessionSecret), {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
    maxAge: SESSION_MAX_AGE_S,
  });
  redirect('/');
}

export async function signOut(): Promise<void> {
  (await cookies()).delete(SESSION_COOKIE);
  redirect('/sign-in');
}
