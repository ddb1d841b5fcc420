// The signed-in creator in server components and actions, from the session cookie; the plan is
// looked up in the directory, never taken from the client.
import type { DirectoryCreator } from '@airl/creators';
import { cookies } from 'next/headers';

import { getApp } from './app';
import { readSessionToken, SESSION_COOKIE } from './session';

/** The signed-in creator; while Redis is unreachable, with the last known or the degraded plan (`planSource`). */
export async function currentCreator(): Promise<DirectoryCreator | undefined> {
  const app = getApp();
  const id = await readSessionToken((await cookies()).get(SESSION_COOKIE)?.value, app.config.sessionSecret);
  return id ? app.limiters.directory.get(id) : undefined;
}
