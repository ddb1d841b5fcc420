// Starts the built app (`next start`, production mode) on a free loopback port for HTTP and
// browser tests, with the test session secret and demo sign-in, and stops it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { SessionClient } from '@airl/creators/sessions';
import { type RunningApp, startNextApp } from '@airl/vitest-config/next-app';

import { createWebSessions, SESSION_COOKIE } from '~/server/session';

export type { RunningApp };

export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The session secret test servers run with, so tests can sign sessions themselves. */
export const TEST_SESSION_SECRET = 'test-session-secret-0123456789-abcdefghij';
export const TEST_REDIS_TOKEN = 'test-redis-token-0123456789';

/** Starts the app with `env` added to this process's environment; resolves once /api/health answers. */
export function startApp(env: Record<string, string>): Promise<RunningApp> {
  return startNextApp(APP_DIR, { DEMO_SIGN_IN: 'true', SESSION_SECRET: TEST_SESSION_SECRET, TEST_REDIS_TOKEN, ...env });
}

/** A session for `creatorId` written straight to the app's session store (same Redis, same prefix). */
export async function sessionCookie(client: SessionClient, prefix: string, creatorId: string): Promise<string> {
  return `${SESSION_COOKIE}=${await createWebSessions(prefix, () => client).create(creatorId)}`;
}

/** The id of a server action of the build, by its exported name. */
export function actionId(name: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(APP_DIR, '.next/server/server-reference-manifest.json'), 'utf8')) as { node: Record<string, { exportedName: string }> };
  const found = Object.entries(manifest.node).find(([, a]) => a.exportedName === name);
  if (!found) throw new Error(`no server action '${name}' in the build`);
  return found[0];
}

/**
 * Posts a server action the way a form does without JavaScript (multipart, `$ACTION_ID_<id>`),
 * from this app's own origin unless `origin` says otherwise (null: no Origin header).
 */
export function postAction(appUrl: string, page: string, name: string, fields: Record<string, string>, o: { origin?: string | null; cookie?: string } = {}): Promise<Response> {
  const body = new FormData();
  body.set(`$ACTION_ID_${actionId(name)}`, '');
  for (const [k, v] of Object.entries(fields)) body.set(k, v);
  const origin = o.origin === undefined ? appUrl : o.origin;
  return fetch(`${appUrl}${page}`, { method: 'POST', body, redirect: 'manual', headers: { ...(origin !== null && { origin }), ...(o.cookie && { cookie: o.cookie }) } });
}

/** The session cookie a response sets, as a `Cookie` header value; undefined if none. */
export function sessionFrom(res: Response): string | undefined {
  const set = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`) && !c.startsWith(`${SESSION_COOKIE}=;`));
  return set?.split(';')[0];
}
