// The signed-in creator in server components and actions, from the session cookie; the plan is
// looked up in the directory, never taken from the client.
import type { Creator } from '@airl/creators';
import { cookies } from 'next/headers';

import { getApp } from './app';
import { readSessionToken, SESSION_COOKIE } from './session';

export async function currentCreator(): Promise<Creator | undefined> {
  const app = getApp();
  const id = await readSessionToken((await cookies()).get(SESSION_COOKIE)?.value, app.config.sessionSecret);
  return id ? app.limiters.directory.get(id) : undefined;
}
