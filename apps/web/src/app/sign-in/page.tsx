import { DEMO_CREATORS } from '@airl/creators';

import { getApp, storageNotice } from '~/server/app';

import { signIn } from '../actions';

export const dynamic = 'force-dynamic';

const ERRORS: Record<string, string> = {
  plan: 'A plan cannot be chosen at sign-in: each demo creator has their own, and an admin changes it (an override in the admin app).',
  creator: 'Pick one of the demo creators.',
};

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ from?: string | string[]; error?: string | string[] }> }) {
  const app = getApp();
  const { from, error: rawError } = await searchParams;
  const error = ERRORS[String(rawError)];
  if (!app.config.demoSignIn) {
    return (
      <main>
        <h1>Sign in</h1>
        <p className="notice">Demo sign-in is turned off. Sign in through the platform.</p>
      </main>
    );
  }
  return (
    <main>
      <h1>Sign in as a demo creator</h1>
      {from !== undefined && (
        <p className="notice" role="status" data-testid="please-sign-in">
          Please sign in to continue.
        </p>
      )}
      <p className="notice" data-testid="demo-notice">
        This is a demo{app.config.production ? ' (production build with DEMO_SIGN_IN on)' : ''}: anyone who reaches this page can sign in as any demo
        creator, so it listens on this machine only by default (BIND_HOST). Each creator keeps their own plan; the plan is looked up on the server on
        every request.
      </p>
      {app.limiters.storage === 'memory' && (
        <p className="notice" data-testid="memory-notice">
          {storageNotice(app)}
        </p>
      )}
      {error && (
        <p className="alert" role="alert" data-testid="sign-in-error">
          {error}
        </p>
      )}
      <form action={signIn} className="card" style={{ maxWidth: 420 }}>
        <label htmlFor="creatorId">Creator</label>
        <select id="creatorId" name="creatorId" defaultValue={DEMO_CREATORS[0]!.id}>
          {DEMO_CREATORS.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
    </main>
  );
}
