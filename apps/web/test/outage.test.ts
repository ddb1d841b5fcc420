// The built app on a Redis this test starts, stops and starts again: with Redis stopped, AI calls
// still answer (the plan's failure policy decides) within their bound, with the creator's last
// known plan or the degraded one; liveness stays ok and says degraded, readiness answers 503 with
// what is wrong; pages render a notice instead of an error page; no answer carries a client
// library's text. When Redis returns, so does readiness.
import { createLimiters } from '@airl/creators/limiters';
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runPrefix, type Server, startServer } from '@airl/vitest-config/redis';

import type { AppRouter } from '~/server/trpc/router';

import { postAction, type RunningApp, sessionCookie, sessionFrom, startApp } from './support/app-server';

/** Text of a client library, a connection error or Next.js's error page: none may reach a client. */
const LEAKS = /Command timed out|max retries|ECONNREFUSED|ECONNRESET|ioredis|Connection is closed|Application error|Internal Server Error|127\.0\.0\.1:\d+/i;

let server: Server;
let app: RunningApp;
const prefix = runPrefix();

beforeAll(async () => {
  server = await startServer();
  app = await startApp({ REDIS_URL: `redis://127.0.0.1:${server.port}`, RATE_LIMIT_PREFIX: prefix, CREATOR_DEGRADED_PLAN: 'starter' });
}, 180_000);
afterAll(async () => {
  await app?.stop();
  await server?.stop();
});

function trpcFor(cookie: string) {
  const bodies: string[] = [];
  const trpc = createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${app.url}/api/trpc`,
        headers: () => ({ cookie, origin: app.url }),
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          bodies.push(await res.clone().text());
          return res;
        },
      }),
    ],
  });
  return { trpc, bodies };
}

async function get(path: string, cookie?: string) {
  const res = await fetch(`${app.url}${path}`, { headers: { ...(cookie && { cookie }) }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

describe('the creator app with Redis stopped', () => {
  it('keeps answering AI calls within the bound, with the last known or the degraded plan, and reports it', { timeout: 180_000 }, async () => {
    // Redis up: chloe's plan is pro (read once by the app), dan's is never read
    const setup = createLimiters({ redis: { host: '127.0.0.1', port: server.port, tls: false, username: undefined, password: undefined, cluster: false }, prefix });
    await setup.directory.setPlan('creator-chloe', 'pro');
    const chloeCookie = await sessionCookie(setup.client()!, prefix, 'creator-chloe');
    await setup.close();
    // dan signs in through the app (which keeps its copy of the session) without loading a page:
    // his plan is never read
    const danSignIn = await postAction(app.url, '/sign-in', 'signIn', { creatorId: 'creator-dan' });
    expect(danSignIn.status).toBe(303);
    const chloe = trpcFor(chloeCookie);
    const dan = trpcFor(sessionFrom(danSignIn)!);
    expect(await chloe.trpc.ai.quota.query()).toMatchObject({ plan: 'pro', degraded: false });
    expect(JSON.parse((await get('/api/health')).text)).toMatchObject({ ok: true, storage: 'redis', redis: 'connected', degraded: false });
    const readyBefore = await get('/api/health?ready');
    expect(readyBefore.status).toBe(200);
    expect(JSON.parse(readyBefore.text)).toMatchObject({ ok: true, ready: true });

    await server.stop();

    // every AI call answers, none waits past the directory's 300 ms + the store's 1 s (+ margin)
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      const answer = await chloe.trpc.ai.caption.mutate({ description: `Outage post ${i}` });
      durations.push(Date.now() - started);
      expect(answer.text.length).toBeGreaterThan(0);
    }
    expect(Math.max(...durations)).toBeLessThan(300 + 1000 + 2500);
    // chloe keeps her last known plan; dan, never read by this instance, gets the degraded plan
    expect(await chloe.trpc.ai.quota.query()).toMatchObject({ plan: 'pro', degraded: true });
    expect(await dan.trpc.ai.quota.query()).toMatchObject({ plan: 'starter', degraded: true });

    const live = await get('/api/health');
    expect(live.status).toBe(200);
    expect(JSON.parse(live.text)).toMatchObject({ ok: true, degraded: true });
    const ready = await get('/api/health?ready');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text)).toMatchObject({ ok: true, ready: false, degraded: true, problem: expect.stringMatching(/^Redis unreachable/) as string });

    const page = await get('/', chloeCookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-testid="degraded-notice"');
    expect(page.text).toContain('Our usage service is unreachable');
    const signIn = await get('/sign-in');
    expect(signIn.status).toBe(200);

    for (const text of [...chloe.bodies, ...dan.bodies, live.text, ready.text, page.text, signIn.text]) expect(text).not.toMatch(LEAKS);

    // Redis back on the same port: ready again, and the app counts on it again
    server = await startServer({ port: server.port });
    let back = await get('/api/health?ready');
    for (let i = 0; i < 60 && back.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      back = await get('/api/health?ready');
    }
    expect(back.status).toBe(200);
    // a fresh server has lost the sessions with everything else: chloe signs in again
    expect(await chloe.trpc.ai.quota.query().then(() => 'open', (e: Error) => e.message)).toBe('Sign in to use the AI features.');
    const again = trpcFor(sessionFrom(await postAction(app.url, '/sign-in', 'signIn', { creatorId: 'creator-chloe' }))!);
    let quota = await again.trpc.ai.quota.query();
    for (let i = 0; i < 40 && quota.degraded; i++) {
      await new Promise((r) => setTimeout(r, 250));
      quota = await again.trpc.ai.quota.query();
    }
    // a fresh server: chloe's stored plan is gone, so her own (pro, by the demo list)
    expect(quota).toMatchObject({ plan: 'pro', degraded: false });
  });
});
