// The frame of every signed-in page: navigation, the creator search, who is signed in, sign-out,
// and a notice when the app keeps its data in memory (then it does not see the web app's).
import Link from 'next/link';
import type { ReactNode } from 'react';

import { getApp, storageNotice } from '~/server/app';
import type { AdminSession } from '~/server/guard';

import { signOut, signOutEverywhere } from './actions';

export function Shell({ admin, children, search = '' }: { admin: AdminSession; children: ReactNode; search?: string }) {
  const app = getApp();
  return (
    <main>
      <header className="top">
        <nav>
          <Link className="brand" href="/">
            AI limits admin
          </Link>
          <Link href="/">Dashboard</Link>
          <Link href="/plans">Plans</Link>
          <Link href="/audit">Audit log</Link>
        </nav>
        <form action="/creators" method="get" role="search">
          <input type="search" name="id" aria-label="Creator id or name" placeholder="Creator id or name, e.g. Ava" defaultValue={search} required maxLength={256} />
          <button type="submit">Find</button>
        </form>
        <form action={signOut}>
          <span className="muted" data-testid="signed-in-as">
            {admin.name}
          </span>
          <button className="link" type="submit">
            Sign out
          </button>
          <button className="link" type="submit" formAction={signOutEverywhere} title="Sign out everywhere: ends every session of this account, in every browser">
            End every session
          </button>
        </form>
      </header>
      {app.limiters.storage === 'memory' && (
        <p className="notice" data-testid="memory-notice">
          {storageNotice(app)}
        </p>
      )}
      {children}
    </main>
  );
}
