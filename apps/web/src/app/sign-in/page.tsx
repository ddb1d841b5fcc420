import { DEMO_CREATORS, PLANS } from '@airl/creators';

import { getApp } from '~/server/app';

import { signIn } from '../actions';

export const dynamic = 'force-dynamic';

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ unavailable?: string | string[] }> }) {
  const app = getApp();
  const { unavailable } = await searchParams;
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
      <p className="muted">Development sign-in: pick a creator and the plan to give them. The plan is stored on the server and looked up on every request.</p>
      {unavailable && (
        <p className="alert" role="alert" data-testid="plan-unavailable">
          Plans cannot be changed right now (Redis unreachable). Sign in with the creator&apos;s current plan, or try again in a moment.
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
        <label htmlFor="plan">Plan</label>
        <select id="plan" name="plan" defaultValue="">
          <option value="">the creator&apos;s current plan</option>
          {PLANS.map((p) => (
            <option key={p} value={p}>
              {p}
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
