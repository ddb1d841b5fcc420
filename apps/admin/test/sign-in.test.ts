// Sign-in attempts limited by the engine, on a real Redis and a real cluster: failures per account
// and source together, per source, and per account over unknown sources, exact under parallel
// guesses; a success costs nothing; a known device of the account is never held up by anyone
// else's guessing; limits back off (memory store, with the clock moved).
import { createMemoryStore } from '@airl/ratelimit';
import { Redis } from 'ioredis';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';

import { hashPassword } from '~/server/passwords';
import { attemptSignIn, createSignInLimiter, knownDeviceToken, readKnownDevice, SIGN_IN_PLANS, type SignInAttempt } from '~/server/sign-in';

import { adminApp, freshPrefix, KINDS } from './support/redis';

const PASSWORD = 'alice-has-a-long-password';
let users = '';
beforeAll(async () => {
  const h = await hashPassword(PASSWORD);
  users = `alice:${h} bob:${h}`;
});

const PAIR_LIMIT = SIGN_IN_PLANS.pair.limits[0].limit;
const SOURCE_LIMIT = SIGN_IN_PLANS.source.limits[0].limit;
const ACCOUNT_LIMIT = SIGN_IN_PLANS.account.limits[0].limit;
const secret = new TextEncoder().encode('k'.repeat(40));

describe('the sign-in plans', () => {
  it('are the budgets the README states: 5 / 10 / 20 per pair and per known device, 20 / 100 per source, 30 / 200 per account', () => {
    const budget = (plan: keyof typeof SIGN_IN_PLANS) => SIGN_IN_PLANS[plan].limits.map((l) => `${l.name}: ${l.limit} per ${l.window}`);
    expect(budget('pair')).toEqual(['pair-15m: 5 per 15 m', 'pair-1h: 10 per 1 h', 'pair-1d: 20 per 1 d']);
    expect(budget('device')).toEqual(['device-15m: 5 per 15 m', 'device-1h: 10 per 1 h', 'device-1d: 20 per 1 d']);
    expect(budget('source')).toEqual(['source-15m: 20 per 15 m', 'source-1d: 100 per 1 d']);
    expect(budget('account')).toEqual(['account-15m: 30 per 15 m', 'account-1d: 200 per 1 d']);
  });
});

describe.each(KINDS)('sign-in limits on %s', (kind) => {
  const setup = () => {
    const prefix = freshPrefix();
    const app = adminApp(kind, prefix, { ADMIN_USERS: users, DEMO_ADMIN: 'false' });
    const attempt = (username: string, password: string, address = '203.0.113.1', device?: SignInAttempt['device']) =>
      attemptSignIn({ limiter: app.signIn, accounts: app.config.accounts }, { username, password, address, device });
    return { app, prefix, attempt };
  };

  it('signs in with the right password, whatever the case of the name', async () => {
    const { attempt } = setup();
    expect(await attempt('alice', PASSWORD)).toMatchObject({ ok: true, name: 'alice' });
    expect(await attempt('  Alice ', PASSWORD)).toMatchObject({ ok: true, name: 'alice' });
    expect(await attempt('nobody', PASSWORD)).toEqual({ ok: false, reason: 'invalid' });
  });

  it(`refuses a name from one source after ${PAIR_LIMIT} failures for 15 minutes; the same name from elsewhere still signs in`, async () => {
    const { attempt } = setup();
    for (let i = 0; i < PAIR_LIMIT; i++) expect(await attempt('alice', `guess-${i}`, '198.51.100.66')).toEqual({ ok: false, reason: 'invalid' });
    const limited = await attempt('alice', PASSWORD, '198.51.100.66');
    expect(limited).toMatchObject({ ok: false, reason: 'limited' });
    const wait = (limited as { retryAfterMs: number }).retryAfterMs;
    expect(wait).toBeGreaterThan(14 * 60_000);
    expect(wait).toBeLessThanOrEqual(15 * 60_000);
    // the attacker's address does not lock the account: the admin elsewhere, and bob there, get in
    expect(await attempt('alice', PASSWORD, '203.0.113.9')).toMatchObject({ ok: true, name: 'alice' });
    expect(await attempt('bob', PASSWORD, '198.51.100.66')).toMatchObject({ ok: true, name: 'bob' });
  });

  it(`guessing spread over many sources (${ACCOUNT_LIMIT}) stops unknown sources, never a known device of the account`, async () => {
    const { app, attempt } = setup();
    const device = readKnownDevice(knownDeviceToken('alice', app.config.sessionSecret), app.config.sessionSecret)!;
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expect(await attempt('alice', `guess-${i}`, `203.0.${Math.floor(i / 4)}.${i % 4}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt('alice', PASSWORD, '192.0.2.200')).toMatchObject({ ok: false, reason: 'limited' });
    // the admin's browser, even from an address the attacker used
    expect(await attempt('alice', PASSWORD, '203.0.0.0', device)).toMatchObject({ ok: true, name: 'alice' });
    // a device of another account is an unknown source here
    const bobs = readKnownDevice(knownDeviceToken('bob', app.config.sessionSecret), app.config.sessionSecret)!;
    expect(await attempt('alice', PASSWORD, '192.0.2.201', bobs)).toMatchObject({ ok: false, reason: 'limited' });
  });

  it('when every client is one address (no trusted proxy), random names fill that address, not a known device', async () => {
    const { app, attempt } = setup();
    const device = readKnownDevice(knownDeviceToken('alice', app.config.sessionSecret), app.config.sessionSecret)!;
    for (let i = 0; i < SOURCE_LIMIT; i++) expect(await attempt(`random-${i}`, 'guess', 'unknown')).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt('alice', PASSWORD, 'unknown')).toMatchObject({ ok: false, reason: 'limited' });
    expect(await attempt('alice', PASSWORD, 'unknown', device)).toMatchObject({ ok: true, name: 'alice' });
  });

  it('a known device is limited on its own: a stolen device cookie still guesses slowly', async () => {
    const { app, attempt } = setup();
    const device = readKnownDevice(knownDeviceToken('alice', app.config.sessionSecret), app.config.sessionSecret)!;
    for (let i = 0; i < SIGN_IN_PLANS.device.limits[0].limit; i++) expect(await attempt('alice', 'wrong', '203.0.113.5', device)).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt('alice', PASSWORD, '203.0.113.5', device)).toMatchObject({ ok: false, reason: 'limited' });
  });

  it('counts only failures: a success gives its attempt back', async () => {
    const { attempt } = setup();
    for (let i = 0; i < PAIR_LIMIT - 1; i++) expect(await attempt('bob', 'wrong')).toEqual({ ok: false, reason: 'invalid' });
    // successes in between cost nothing (nor do they forgive the failures)
    for (let i = 0; i < 3; i++) expect(await attempt('bob', PASSWORD)).toMatchObject({ ok: true, name: 'bob' });
    expect(await attempt('bob', 'wrong')).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt('bob', PASSWORD)).toMatchObject({ ok: false, reason: 'limited' });
  });

  it(`refuses an address after ${SOURCE_LIMIT} failures across names; other addresses still sign in`, async () => {
    const { attempt } = setup();
    for (let i = 0; i < SOURCE_LIMIT; i++) expect(await attempt(`user-${i}`, 'guess', '192.0.2.50')).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt('alice', PASSWORD, '192.0.2.50')).toMatchObject({ ok: false, reason: 'limited' });
    expect(await attempt('alice', PASSWORD, '192.0.2.51')).toMatchObject({ ok: true, name: 'alice' });
  });

  it('lets exactly the limit of parallel guesses reach the password check', async () => {
    const { attempt } = setup();
    const outcomes = await Promise.all(Array.from({ length: 3 * PAIR_LIMIT }, (_, i) => attempt('alice', `parallel-${i}`, '203.0.113.100')));
    expect(outcomes.filter((o) => !o.ok && o.reason === 'invalid')).toHaveLength(PAIR_LIMIT);
    expect(outcomes.filter((o) => !o.ok && o.reason === 'limited')).toHaveLength(2 * PAIR_LIMIT);
  });
});

describe('back-off', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits 15 minutes after 5 failures, up to an hour after 10, a day after 20', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.UTC(2026, 0, 5, 9);
    vi.setSystemTime(start);
    const store = createMemoryStore();
    const limiter = createSignInLimiter(store);
    const accounts = new Map([['alice', { name: 'alice', passwordHash: await hashPassword(PASSWORD), demo: false }]]);
    const attempt = () => attemptSignIn({ limiter, accounts }, { username: 'alice', password: 'wrong', address: '198.51.100.1' });
    const failRound = async (n: number) => {
      for (let i = 0; i < n; i++) expect(await attempt()).toEqual({ ok: false, reason: 'invalid' });
      const limited = await attempt();
      expect(limited.ok).toBe(false);
      return (limited as { retryAfterMs: number }).retryAfterMs;
    };
    expect(await failRound(5)).toBeLessThanOrEqual(15 * 60_000);
    vi.setSystemTime(start + 16 * 60_000);
    const hourly = await failRound(5);
    expect(hourly).toBeGreaterThan(30 * 60_000);
    expect(hourly).toBeLessThanOrEqual(60 * 60_000);
    for (let round = 0; round < 2; round++) {
      vi.setSystemTime(start + (61 + round * 61) * 60_000);
      await failRound(5);
    }
    vi.setSystemTime(start + 4 * 3600_000);
    // 20 failures within the day: the next attempt waits for the day's window
    const daily = await failRound(0);
    expect(daily).toBeGreaterThan(19 * 3600_000);
    await limiter.close();
    await store.close();
  });
});

describe('known-device cookies', () => {
  it('name an account and a device; forged, altered or other-secret values name nothing', () => {
    const token = knownDeviceToken('alice', secret);
    const device = readKnownDevice(token, secret);
    expect(device).toMatchObject({ name: 'alice', id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) as string });
    expect(readKnownDevice(knownDeviceToken('alice', secret, device!.id), secret)).toEqual(device);
    expect(readKnownDevice(token, new TextEncoder().encode('o'.repeat(40)))).toBeUndefined();
    const [, id, mac] = token.split('.');
    expect(readKnownDevice(`${Buffer.from('bob').toString('base64url')}.${id}.${mac}`, secret)).toBeUndefined();
    for (const bad of [undefined, '', 'x.y.z', `${token}x`]) expect(readKnownDevice(bad, secret)).toBeUndefined();
  });
});

describe('sign-in keys', () => {
  it("live under <prefix>-admin-sign-in, apart from the creators' limits", async () => {
    const prefix = freshPrefix();
    const app = adminApp('redis', prefix, { ADMIN_USERS: users });
    await attemptSignIn({ limiter: app.signIn, accounts: app.config.accounts }, { username: 'alice', password: 'wrong', address: '203.0.113.77' });
    const redis = new Redis(inject('redisUrl'));
    try {
      const keys = await redis.keys(`${prefix}*`);
      expect(keys.filter((k) => k.includes('{account:alice}'))).not.toHaveLength(0);
      expect(keys.filter((k) => k.includes('{source:203.0.113.77}'))).not.toHaveLength(0);
      expect(keys.filter((k) => k.includes('{pair:alice:203.0.113.77}'))).not.toHaveLength(0);
      // besides the identifiers' keys, only the limiter's presence record (for the fallback's shares)
      expect(keys.filter((k) => !k.startsWith(`${prefix}-admin-sign-in:{`))).toEqual([`${prefix}-admin-sign-in:presence`]);
    } finally {
      await redis.quit();
    }
  });
});
