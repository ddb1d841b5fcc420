// The demo sign-in and the server actions over HTTP, against the built app: a forged plan is
// refused (and not stored); a POST from another site or without Origin answers 403 and signs
// nobody in or out; a signed-out cookie opens nothing; sessions live in Redis with a TTL.
import { createLimiters } from '@airl/creators/limiters';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { SESSION_IDLE_S } from '~/server/session';

import { postAction, sessionFrom } from './support/app-server';

const appUrl = inject('appUrl');
const prefix = inject('appPrefix');
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
const limiters = createLimiters({ client: redis, prefix });
afterAll(() => redis.quit());

const quota = (cookie: string | undefined) => fetch(`${appUrl}/api/ai/quota`, { headers: cookie ? { cookie } : {} });

describe('demo sign-in', () => {
  it('refuses a forged plan: no session, and the plan stays the creator\'s', async () => {
    const before = (await limiters.directory.get('creator-ben'))!.plan;
    expect(before).not.toBe('business');
    const res = await postAction(appUrl, '/sign-in', 'signIn', { creatorId: 'creator-ben', plan: 'business' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/sign-in?error=plan');
    expect(sessionFrom(res)).toBeUndefined();
    expect((await limiters.directory.get('creator-ben'))!.plan).toBe(before);
    const page = await fetch(`${appUrl}/sign-in?error=plan`);
    expect(await page.text()).toContain('A plan cannot be chosen at sign-in');
  });

  it('signs in with the creator\'s own plan; the session is in Redis with a TTL of at most a day', async () => {
    const res = await postAction(appUrl, '/sign-in', 'signIn', { creatorId: 'creator-eve' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const cookie = sessionFrom(res)!;
    expect(cookie).toMatch(/^airl_session=[A-Za-z0-9_-]{43}$/);
    // the plan in force is the directory's, whatever other tests of the run set it to
    expect(await (await quota(cookie)).json()).toMatchObject({ plan: (await limiters.directory.get('creator-eve'))!.plan });
    const keys = await redis.keys(`${prefix}-sessions:web:session:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k).not.toContain(cookie.split('=')[1]);
      const ttl = await redis.pttl(k);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(SESSION_IDLE_S * 1000);
    }
  });

  it('refuses a POST from another site, with an opaque Origin or without Origin: 403, nobody signed in', async () => {
    for (const origin of ['https://evil.example', 'null', null]) {
      const res = await postAction(appUrl, '/sign-in', 'signIn', { creatorId: 'creator-ava' }, { origin });
      expect(res.status, String(origin)).toBe(403);
      expect(sessionFrom(res), String(origin)).toBeUndefined();
    }
  });

  it('a signed-out cookie opens nothing; signing out from another site or without Origin does not sign out', async () => {
    const cookie = sessionFrom(await postAction(appUrl, '/sign-in', 'signIn', { creatorId: 'creator-dan' }))!;
    expect((await quota(cookie)).status).toBe(200);
    for (const origin of ['https://evil.example', null]) expect((await postAction(appUrl, '/', 'signOut', {}, { origin, cookie })).status).toBe(403);
    expect((await quota(cookie)).status).toBe(200);
    const out = await postAction(appUrl, '/', 'signOut', {}, { cookie });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/sign-in');
    // the copy of the cookie: refused by the API and the page
    expect((await quota(cookie)).status).toBe(401);
    const home = await fetch(`${appUrl}/`, { headers: { cookie }, redirect: 'manual' });
    expect(home.status).toBe(307);
    expect(home.headers.get('location')).toBe('/sign-in?from=%2F');
    expect(await (await fetch(`${appUrl}/sign-in?from=%2F`)).text()).toContain('Please sign in to continue');
  });
});
