// The built admin app over HTTP, on the run's Redis: an attacker guessing from other addresses
// cannot keep the admin out (a browser that signed in before gets in); a signed-out cookie, every
// session after "sign out everywhere", and every session after a password change are refused; a
// cross-site, Origin-less or unauthenticated action answers 403 and changes nothing.
import { createLimiters } from '@airl/creators/limiters';
import { createRateLimitAdmin } from '@airl/ratelimit/admin';
import fs from 'node:fs';
import path from 'node:path';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { hashPassword } from '~/server/passwords';
import { ADMIN_SESSION_COOKIE } from '~/server/session';
import { KNOWN_DEVICE_COOKIE } from '~/server/sign-in';

import { freshPrefix } from './support/redis';
import { ADMIN_DIR, type RunningApp, startNextApp } from './support/apps';

const PASSWORD = 'alice-long-password-for-tests';
const NEW_PASSWORD = 'alice-changed-her-password-today';
const SECRET = 'http-security-admin-secret-0123456789-abcdef';
const prefix = freshPrefix();
let app: RunningApp;
let env: Record<string, string>;
let known: string;
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });

beforeAll(async () => {
  env = { REDIS_URL: inject('redisUrl'), RATE_LIMIT_PREFIX: prefix, DEMO_ADMIN: 'false', SESSION_SECRET: SECRET, ADMIN_USERS: `alice:${await hashPassword(PASSWORD)}`, TRUSTED_PROXY_COUNT: '1' };
  app = await startNextApp(ADMIN_DIR, env);
  // the admin's browser, before any attack (the first test makes sign-in from unknown sources wait)
  known = `${KNOWN_DEVICE_COOKIE}=${(await signIn(PASSWORD)).cookies[KNOWN_DEVICE_COOKIE]}`;
}, 180_000);
afterAll(async () => {
  await app?.stop();
  await redis.quit();
});

const actionIds = (() => {
  let ids: Record<string, string> | undefined;
  return (name: string) => {
    ids ??= Object.fromEntries(
      Object.entries((JSON.parse(fs.readFileSync(path.join(ADMIN_DIR, '.next/server/server-reference-manifest.json'), 'utf8')) as { node: Record<string, { exportedName: string }> }).node).map(([id, a]) => [a.exportedName, id]),
    );
    const id = ids[name];
    if (!id) throw new Error(`no server action '${name}' in the build`);
    return id;
  };
})();

interface Call {
  fields?: Record<string, string>;
  cookie?: string;
  /** undefined: this app's origin; null: no Origin header. */
  origin?: string | null;
  /** The client's address, as the one trusted proxy would append it. */
  address?: string;
  page?: string;
  url?: string;
}

/** Calls a server action as the browser does (fetch, React's encoding of `(previousState, formData)`). */
async function action(name: string, c: Call = {}) {
  const body = new FormData();
  // React's encoding: the FormData argument's entries as `_<ref>_<name>`, before the root `0`
  // that refers to them (the server parses the root as soon as it arrives)
  for (const [k, v] of Object.entries(c.fields ?? {})) body.set(`_1_${k}`, v);
  body.set('0', JSON.stringify([{}, '$K1']));
  const base = c.url ?? app.url;
  const origin = c.origin === undefined ? base : c.origin;
  const res = await fetch(`${base}${c.page ?? '/'}`, {
    method: 'POST',
    body,
    redirect: 'manual',
    headers: {
      'next-action': actionIds(name),
      accept: 'text/x-component',
      'x-forwarded-for': c.address ?? '203.0.113.10',
      ...(origin !== null && { origin }),
      ...(c.cookie && { cookie: c.cookie }),
    },
  });
  const cookies = Object.fromEntries(res.headers.getSetCookie().map((s) => s.split(';')[0]!.split('=') as [string, string]).filter(([, v]) => v !== ''));
  return { status: res.status, redirect: res.headers.get('x-action-redirect'), text: await res.text(), cookies };
}

const signIn = (password: string, c: Call = {}) => action('signIn', { ...c, page: '/sign-in', fields: { username: 'alice', password, next: '/' } });

async function page(p: string, cookie: string, url = app.url) {
  const res = await fetch(`${url}${p}`, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location') };
}

async function auditLength() {
  const limiters = createLimiters({ client: redis, prefix });
  return (await createRateLimitAdmin(limiters.limiter).audit({ count: 1000 })).length;
}

describe('the admin app over HTTP', () => {
  it('an attacker guessing from other addresses cannot keep the admin out of a browser that signed in before', { timeout: 120_000 }, async () => {
    // the admin signs in once: the browser gets a session and a known-device cookie
    const first = await signIn(PASSWORD, { address: '203.0.113.10' });
    expect(first.redirect).toMatch(/^\/;/);
    const device = first.cookies[KNOWN_DEVICE_COOKIE];
    expect(device).toBeDefined();
    // the attacker guesses alice's password from many addresses until sign-in is limited for everyone unknown
    let limited = 0;
    for (let i = 0; i < 40; i++) {
      const guess = await signIn(`guess-${i}`, { address: `198.51.100.${i}` });
      expect(guess.cookies[ADMIN_SESSION_COOKIE]).toBeUndefined();
      if (guess.text.includes('Too many failed sign-ins')) limited++;
    }
    expect(limited).toBeGreaterThan(0);
    // a new address without the device cookie waits too (the attacker could be anywhere)
    expect((await signIn(PASSWORD, { address: '192.0.2.77' })).text).toContain('Too many failed sign-ins');
    // the admin's browser gets in, from the address it used or another
    for (const address of ['203.0.113.10', '198.51.100.3']) {
      const again = await signIn(PASSWORD, { address, cookie: `${KNOWN_DEVICE_COOKIE}=${device}` });
      expect(again.redirect, address).toMatch(/^\/;/);
      expect(again.cookies[ADMIN_SESSION_COOKIE], address).toBeDefined();
    }
    // a forged device cookie is an unknown source
    expect((await signIn(PASSWORD, { address: '192.0.2.78', cookie: `${KNOWN_DEVICE_COOKIE}=${device!.slice(0, -2)}xx` })).text).toContain('Too many failed sign-ins');
  });

  it('a signed-out cookie opens nothing; "sign out everywhere" ends every session of the account', async () => {
    const a = `${ADMIN_SESSION_COOKIE}=${(await signIn(PASSWORD, { cookie: known })).cookies[ADMIN_SESSION_COOKIE]}`;
    expect(await page('/audit', a)).toMatchObject({ status: 200 });
    const out = await action('signOut', { cookie: a, fields: {} });
    expect(out.redirect).toMatch(/^\/sign-in/);
    // the copied cookie no longer opens the audit log
    expect(await page('/audit', a)).toEqual({ status: 307, location: '/sign-in?next=%2Faudit' });

    const b = `${ADMIN_SESSION_COOKIE}=${(await signIn(PASSWORD, { cookie: known })).cookies[ADMIN_SESSION_COOKIE]}`;
    const c = `${ADMIN_SESSION_COOKIE}=${(await signIn(PASSWORD, { cookie: known })).cookies[ADMIN_SESSION_COOKIE]}`;
    expect((await page('/audit', b)).status).toBe(200);
    expect((await page('/audit', c)).status).toBe(200);
    expect((await action('signOutEverywhere', { cookie: b, fields: {} })).redirect).toMatch(/^\/sign-in/);
    expect((await page('/audit', b)).status).toBe(307);
    expect((await page('/audit', c)).status).toBe(307);
  });

  it('cross-site, Origin-less and unauthenticated actions answer 403 and change nothing', async () => {
    const session = `${ADMIN_SESSION_COOKIE}=${(await signIn(PASSWORD, { cookie: known })).cookies[ADMIN_SESSION_COOKIE]}`;
    const fields = { creatorId: 'creator-ava', duration: '1 h', reason: 'test' };
    const before = await auditLength();
    for (const [what, call] of [
      ['no session', {}],
      ['a forged session', { cookie: `${ADMIN_SESSION_COOKIE}=${'A'.repeat(43)}` }],
      ['another site', { cookie: session, origin: 'https://evil.example' }],
      ['an opaque Origin', { cookie: session, origin: 'null' }],
      ['no Origin', { cookie: session, origin: null }],
    ] as const) {
      const res = await action('blockCreator', { ...call, fields });
      expect(res.status, what).toBe(403);
    }
    expect((await action('signIn', { origin: null, page: '/sign-in', fields: { username: 'alice', password: PASSWORD } })).status).toBe(403);
    expect((await action('signOut', { cookie: session, origin: 'https://evil.example' })).status).toBe(403);
    expect(await auditLength()).toBe(before);
    // the same request from the app with the session is carried out: the refusals were real ones
    const accepted = await action('blockCreator', { cookie: session, fields });
    expect(accepted.status).toBe(200);
    expect(await auditLength()).toBe(before + 1);
  });

  it('a password change ends the sessions made with the old one', { timeout: 180_000 }, async () => {
    const session = `${ADMIN_SESSION_COOKIE}=${(await signIn(PASSWORD, { cookie: known })).cookies[ADMIN_SESSION_COOKIE]}`;
    // another instance (same Redis, secret and prefix) with alice's new hash
    const changed = await startNextApp(ADMIN_DIR, { ...env, ADMIN_USERS: `alice:${await hashPassword(NEW_PASSWORD)}` });
    try {
      expect((await page('/audit', session)).status).toBe(200);
      expect(await page('/audit', session, changed.url)).toEqual({ status: 307, location: '/sign-in?next=%2Faudit' });
      const fresh = await signIn(NEW_PASSWORD, { url: changed.url, cookie: known });
      expect(fresh.redirect).toMatch(/^\/;/);
      expect((await page('/audit', `${ADMIN_SESSION_COOKIE}=${fresh.cookies[ADMIN_SESSION_COOKIE]}`, changed.url)).status).toBe(200);
    } finally {
      await changed.stop();
    }
  });
});
