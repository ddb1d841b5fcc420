'use server';
// Every server action of the app. Each one checks the request's origin first (our own check,
// beside Next.js's) and, except signing in, the admin's session: a server action is a public
// POST endpoint whatever the pages show.
import { revalidatePath } from 'next/cache';
import { cookies, headers } from 'next/headers';
import { redirect } from 'next/navigation';

import { formatWait } from '~/lib/format';
import { type AdminActionKind, runAdminAction } from '~/server/admin-actions';
import { getApp } from '~/server/app';
import { rateLimitNames } from '~/server/creator-view';
import { runRestorePlans, runUpdatePlans } from '~/server/plan-actions';
import { clientAddress } from '~/server/client-address';
import { requireAdminAction, requireSameOrigin, safeNext } from '~/server/guard';
import { ADMIN_SESSION_COOKIE, passwordFingerprint, sessionCookieOptions } from '~/server/session';
import { attemptSignIn, KNOWN_DEVICE_COOKIE, KNOWN_DEVICE_TTL_S, knownDeviceToken, readKnownDevice } from '~/server/sign-in';

import type { ActionState, SignInState } from './action-state';

const text = (form: FormData, name: string) => {
  const v = form.get(name);
  return typeof v === 'string' ? v : '';
};

export async function signIn(_previous: SignInState, form: FormData): Promise<SignInState> {
  await requireSameOrigin();
  const app = getApp();
  const h = await headers();
  const jar = await cookies();
  const username = text(form, 'username');
  const device = readKnownDevice(jar.get(KNOWN_DEVICE_COOKIE)?.value, app.config.sessionSecret);
  const outcome = await attemptSignIn(
    { limiter: app.signIn, accounts: app.config.accounts },
    { username, password: text(form, 'password'), address: clientAddress(h, app.config.trustedProxyCount), device },
  );
  if (!outcome.ok) {
    const error =
      outcome.reason === 'limited'
        ? `Too many failed sign-ins. Try again in ${formatWait(outcome.retryAfterMs)}.`
        : 'Wrong user name or password.';
    return { error, username: username.slice(0, 64) };
  }
  const secure = h.get('x-forwarded-proto') === 'https';
  jar.set(ADMIN_SESSION_COOKIE, await app.sessions.create(outcome.name, passwordFingerprint(outcome.passwordHash)), sessionCookieOptions(secure));
  // this browser is now a known device of the account: others' guessing cannot keep it out
  const deviceId = device?.name === outcome.name ? device.id : undefined;
  jar.set(KNOWN_DEVICE_COOKIE, knownDeviceToken(outcome.name, app.config.sessionSecret, deviceId), { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: KNOWN_DEVICE_TTL_S });
  redirect(safeNext(form.get('next')));
}

export async function signOut(): Promise<void> {
  await requireSameOrigin();
  const jar = await cookies();
  // ended on the server: a copy of the cookie no longer opens anything
  await getApp().sessions.end(jar.get(ADMIN_SESSION_COOKIE)?.value);
  jar.delete(ADMIN_SESSION_COOKIE);
  redirect('/sign-in');
}

/** Ends every session of the signed-in admin, in every browser, this one included. */
export async function signOutEverywhere(): Promise<void> {
  const admin = await requireAdminAction();
  await getApp().sessions.endAll(admin.name);
  (await cookies()).delete(ADMIN_SESSION_COOKIE);
  redirect('/sign-in');
}

async function adminAction(kind: AdminActionKind, form: FormData): Promise<ActionState> {
  const session = await requireAdminAction();
  const app = getApp();
  const result = await runAdminAction(app.admin, session.name, kind, form, { rateLimits: rateLimitNames(app.limiters) });
  // the page re-renders with the new state in the same response
  if (result.ok) revalidatePath('/', 'layout');
  return result;
}

export async function resetLimits(_previous: ActionState, form: FormData): Promise<ActionState> {
  return adminAction('reset', form);
}

export async function overridePlan(_previous: ActionState, form: FormData): Promise<ActionState> {
  return adminAction('override', form);
}

export async function blockCreator(_previous: ActionState, form: FormData): Promise<ActionState> {
  return adminAction('block', form);
}

export async function liftControls(_previous: ActionState, form: FormData): Promise<ActionState> {
  return adminAction('lift', form);
}

/** The plan editor's actions: unavailable when the store cannot keep live plans (Lambda). */
async function planAction(run: (editor: NonNullable<ReturnType<typeof getApp>['plans']>, actor: string) => Promise<ActionState>): Promise<ActionState> {
  const session = await requireAdminAction();
  const editor = getApp().plans;
  if (!editor) return { ok: false, message: 'Plans cannot be changed live on this deployment (the Lambda store keeps no plans).' };
  const result = await run(editor, session.name);
  if (result.ok) revalidatePath('/', 'layout');
  return result;
}

export async function updatePlans(_previous: ActionState, form: FormData): Promise<ActionState> {
  return planAction((editor, actor) => runUpdatePlans(editor, actor, form));
}

export async function restorePlans(_previous: ActionState, _form: FormData): Promise<ActionState> {
  return planAction((editor, actor) => runRestorePlans(editor, actor));
}
