import { toMs } from '@airl/ratelimit';
import { redirect } from 'next/navigation';

import { formatWait } from '~/lib/format';
import { DEMO_ADMIN } from '~/server/accounts';
import { getApp } from '~/server/app';
import { currentAdmin, safeNext } from '~/server/guard';
import { SIGN_IN_PLANS } from '~/server/sign-in';

import { SignInForm } from './sign-in-form';

export const dynamic = 'force-dynamic';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next: raw } = await searchParams;
  const next = safeNext(Array.isArray(raw) ? raw[0] : raw);
  if (await currentAdmin()) redirect(next);
  const app = getApp();
  return (
    <main>
      <h1>Sign in to the AI limits admin</h1>
      {app.config.demoAdmin && (
        <p className="notice" data-testid="demo-admin">
          Demo account: <strong>{DEMO_ADMIN.name}</strong> / <strong>{DEMO_ADMIN.password}</strong> (DEMO_ADMIN=true; never in production).
        </p>
      )}
      <SignInForm next={next} />
      <p className="muted">
        After {SIGN_IN_PLANS.account.limits[0].limit} failed attempts for a name, or {SIGN_IN_PLANS.address.limits[0].limit} from an address, within{' '}
        {formatWait(toMs(SIGN_IN_PLANS.account.limits[0].window))}, sign-in waits.
      </p>
    </main>
  );
}
