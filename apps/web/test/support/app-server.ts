// Starts the built app (`next start`, production mode) on a free loopback port for HTTP and
// browser tests, with the test session secret and demo sign-in, and stops it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { type RunningApp, startNextApp } from '@airl/vitest-config/next-app';

export type { RunningApp };

export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The session secret test servers run with, so tests can sign sessions themselves. */
export const TEST_SESSION_SECRET = 'test-session-secret-0123456789-abcdefghij';
export const TEST_REDIS_TOKEN = 'test-redis-token-0123456789';

/** Starts the app with `env` added to this process's environment; resolves once /api/health answers. */
export function startApp(env: Record<string, string>): Promise<RunningApp> {
  return startNextApp(APP_DIR, { DEMO_SIGN_IN: 'true', SESSION_SECRET: TEST_SESSION_SECRET, TEST_REDIS_TOKEN, ...env });
}
