import { redirect } from 'next/navigation';

import { DEMO_ADMIN } from '~/server/accounts';
import { getApp } from '~/server/app';
import { currentAdmin, safeNext } from '~/server/guard';

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
      <p className="muted">After 5 failed attempts for a name, or 20 from an address, sign-in waits 15 minutes.</p>
    </main>
  );
}
