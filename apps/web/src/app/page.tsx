import { redirect } from 'next/navigation';

import { getApp, storageNotice } from '~/server/app';
import { currentCreator } from '~/server/session-creator';

import { signOut } from './actions';
import { Dashboard } from './dashboard';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const creator = await currentCreator();
  if (!creator) redirect('/sign-in');
  const app = getApp();
  return (
    <main>
      <header className="top">
        <h1>
          Creator AI · {creator.name} <span className="badge" data-testid="plan">{creator.plan}</span>
        </h1>
        <form action={signOut}>
          <button className="link" type="submit">
            Sign out
          </button>
        </form>
      </header>
      {app.limiters.storage === 'memory' && (
        <p className="notice" data-testid="memory-notice">
          {storageNotice(app)}
        </p>
      )}
      <Dashboard />
    </main>
  );
}
