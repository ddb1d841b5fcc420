// The signed-in creator in server components and actions, from the server-side session; the plan is
// looked up in the directory, never taken from the client.
import 'server-only';

import type { DirectoryCreator } from '@airl/creators';
import { cookies } from 'next/headers';

import { getApp } from './app';
import { SESSION_COOKIE } from './session';

/** The signed-in creator; while Redis is unreachable, with the last known or the degraded plan (`planSource`). */
export async function currentCreator(): Promise<DirectoryCreator | undefined> {
  const app = getApp();
  const session = await app.sessions.read((await cookies()).get(SESSION_COOKIE)?.value);
  return session ? app.limiters.directory.get(session.subject) : undefined;
}
