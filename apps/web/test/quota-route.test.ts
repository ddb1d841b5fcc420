// GET /api/ai/quota calls the tRPC procedure through a caller, which skips the errorFormatter:
// the route itself must keep an unexpected error's own text (here a Redis URL with a password)
// from the client, and still pass the procedures' own errors (sign in first) through.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { GET } from '~/app/api/ai/quota/route';
import type { App } from '~/server/app';
import { INTERNAL_ERROR_MESSAGE } from '~/server/trpc/init';

const holder = globalThis as { __airlWebApp?: unknown };
const SECRET_TEXT = 'connect ECONNREFUSED redis://:hunter2@10.0.0.7:6379';

/** An app whose session store answers `subject` and whose limiter's peek does `peek`. */
function fakeApp(subject: string | undefined, peek: () => Promise<never>): App {
  return {
    sessions: { read: () => Promise.resolve(subject ? { subject, credential: '', createdAt: 0, expiresAt: Date.now() + 60_000 } : undefined) },
    limiters: { directory: { get: (id: string) => Promise.resolve({ id, name: 'Ava', plan: 'starter', planSource: 'directory' }) }, limiter: { peek } },
  } as unknown as App;
}

afterEach(() => {
  delete holder.__airlWebApp;
  vi.restoreAllMocks();
});

describe('GET /api/ai/quota errors', () => {
  it('answers an unexpected error with the app\'s sentence, never the error\'s own text', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    holder.__airlWebApp = fakeApp('creator-ava', () => Promise.reject(new Error(SECRET_TEXT)));
    const res = await GET(new Request('http://localhost/api/ai/quota', { headers: { cookie: `airl_session=${'A'.repeat(43)}` } }));
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('ECONNREFUSED');
    expect(JSON.parse(text)).toEqual({ error: INTERNAL_ERROR_MESSAGE, code: 'INTERNAL_SERVER_ERROR' });
    expect(res.headers.get('cache-control')).toBe('no-store');
    // the details go to the server log
    const logText = logged.mock.calls.flat().map((a: unknown) => (a instanceof Error ? a.message : String(a)));
    expect(logText.join(' ')).toContain('hunter2');
  });

  it('passes a procedure\'s own error (sign in first) through with its status and sentence', async () => {
    holder.__airlWebApp = fakeApp(undefined, () => Promise.reject(new Error('not reached')));
    const res = await GET(new Request('http://localhost/api/ai/quota'));
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'Sign in to use the AI features.', code: 'UNAUTHORIZED' });
  });
});
