import { redirect } from 'next/navigation';

import { getApp, storageNotice } from '~/server/app';
import { currentCreator } from '~/server/session-creator';

import { signOut } from './actions';
import { Dashboard } from './dashboard';

export const dynamic = 'force-dynamic';

export default async function Home() {
  const creator = await currentCreator();
  if (!creator) redirect('/sign-in?from=%2F');
  const app = getApp();
  return (
    <main>
      <Dashboard signOut={signOut}>
      {creator.planSource !== 'directory' && (
        <p className="notice" data-testid="degraded-notice">
          Our usage service is unreachable right now: your AI features keep working within your plan&apos;s limits on this server
          {creator.planSource === 'degraded-plan' ? `, on the ${creator.plan} plan until yours can be read again` : ''}, and the figures below may lag.
        </p>
      )}
      {app.limiters.storage === 'memory' && (
        <p className="notice" data-testid="memory-notice">
          {storageNotice(app)}
        </p>
      )}
      </Dashboard>
    </main>
  );
}
