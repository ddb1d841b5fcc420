import { toMs } from '@airl/ratelimit';
import { redirect } from 'next/navigation';

import { formatWait } from '~/lib/format';
import { DEMO_ADMIN } from '~/server/accounts';
import { getApp, storageNotice } from '~/server/app';
import { currentAdmin, safeNext } from '~/server/guard';
import { SIGN_IN_PLANS } from '~/server/sign-in';

import { SignInForm } from './sign-in-form';

export const dynamic = 'force-dynamic';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next: raw } = await searchParams;
  const next = safeNext(Array.isArray(raw) ? raw[0] : raw);
  // sent here from a page: say why
  if (await currentAdmin()) redirect(next);
  const app = getApp();
  const limit = (plan: keyof typeof SIGN_IN_PLANS) => SIGN_IN_PLANS[plan].limits[0];
  return (
    <main>
      <h1>Sign in to the AI limits admin</h1>
      {raw !== undefined && (
        <p className="notice" role="status" data-testid="please-sign-in">
          Please sign in to see that page.
        </p>
      )}
      {app.config.demoAdmin && (
        <p className="notice" data-testid="demo-admin">
          This is a demo{app.config.production ? ' (production build, demo account on)' : ''}: sign in as <strong>{DEMO_ADMIN.name}</strong> /{' '}
          <strong>{DEMO_ADMIN.password}</strong>. The password is published, so the demo listens on this machine only by default (HOST); never
          expose it.
        </p>
      )}
      {app.limiters.storage === 'memory' && (
        <p className="notice" data-testid="memory-notice">
          {storageNotice(app)}
        </p>
      )}
      <SignInForm next={next} />
      <p className="muted">
        After {limit('pair').limit} failed attempts for a name from one place, or {limit('source').limit} from one address, within{' '}
        {formatWait(toMs(limit('pair').window))}, sign-in waits, longer after more. A browser you signed in with before is not held up by
        anyone else&apos;s failures.
      </p>
    </main>
  );
}
