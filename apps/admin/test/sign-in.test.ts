// Sign-in attempts limited by the engine, on a real Redis and a real cluster: failures per account
// name and per client address, exact under parallel guesses; a success costs nothing.
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, inject, it } from 'vitest';

import { hashPassword } from '~/server/passwords';
import { attemptSignIn, SIGN_IN_PLANS } from '~/server/sign-in';

import { adminApp, freshPrefix, KINDS } from './support/redis';

const PASSWORD = 'alice-has-a-long-password';
let users = '';
beforeAll(async () => {
  const h = await hashPassword(PASSWORD);
  users = `alice:${h} bob:${h}`;
});

const ACCOUNT_LIMIT = SIGN_IN_PLANS.account.limits[0].limit;
const ADDRESS_LIMIT = SIGN_IN_PLANS.address.limits[0].limit;

describe.each(KINDS)('sign-in limits on %s', (kind) => {
  const setup = () => {
    const prefix = freshPrefix();
    const app = adminApp(kind, prefix, { ADMIN_USERS: users, DEMO_ADMIN: 'false' });
    const attempt = (username: string, password: string, address = '203.0.113.1') =>
      attemptSignIn({ limiter: app.signIn, accounts: app.config.accounts }, { username, password, address });
    return { app, prefix, attempt };
  };

  it('signs in with the right password, whatever the case of the name', async () => {
    const { attempt } = setup();
    expect(await attempt('alice', PASSWORD)).toEqual({ ok: true, name: 'alice' });
    expect(await attempt('  Alice ', PASSWORD)).toEqual({ ok: true, name: 'alice' });
    expect(await attempt('nobody', PASSWORD)).toEqual({ ok: false, reason: 'invalid' });
  });

  it(`refuses a name after ${ACCOUNT_LIMIT} failures for 15 minutes, even with the right password and from elsewhere`, async () => {
    const { attempt } = setup();
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expect(await attempt('alice', `guess-${i}`, `203.0.113.${i + 1}`)).toEqual({ ok: false, reason: 'invalid' });
    const limited = await attempt('alice', PASSWORD, '198.51.100.9');
    expect(limited).toMatchObject({ ok: false, reason: 'limited' });
    const wait = (limited as { retryAfterMs: number }).retryAfterMs;
    expect(wait).toBeGreaterThan(14 * 60_000);
    expect(wait).toBeLessThanOrEqual(15 * 60_000);
    // another name is not affected
    expect(await attempt('bob', PASSWORD, '198.51.100.9')).toEqual({ ok: true, name: 'bob' });
  });

  it('counts only failures: a success gives its attempt back', async () => {
    const { attempt } = setup();
    for (let i = 0; i < ACCOUNT_LIMIT - 1; i++) expect(await attempt('bob', 'wrong')).toEqual({ ok: false, reason: 'invalid' });
    // successes in between cost nothing (nor do they forgive the failures)
    for (let i = 0; i < 3; i++) expect(await attempt('bob', PASSWORD)).toEqual({ ok: true, name: 'bob' });
    expect(await attempt('bob', 'wrong')).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt('bob', PASSWORD)).toMatchObject({ ok: false, reason: 'limited' });
  });

  it(`refuses an address after ${ADDRESS_LIMIT} failures across names; other addresses still sign in`, async () => {
    const { attempt } = setup();
    for (let i = 0; i < ADDRESS_LIMIT; i++) expect(await attempt(`user-${i}`, 'guess', '192.0.2.50')).toEqual({ ok: false, reason: 'invalid' });
    expect(await attempt('alice', PASSWORD, '192.0.2.50')).toMatchObject({ ok: false, reason: 'limited' });
    expect(await attempt('alice', PASSWORD, '192.0.2.51')).toEqual({ ok: true, name: 'alice' });
  });

  it('lets exactly the limit of parallel guesses reach the password check', async () => {
    const { attempt } = setup();
    const outcomes = await Promise.all(Array.from({ length: 3 * ACCOUNT_LIMIT }, (_, i) => attempt('alice', `parallel-${i}`, `203.0.113.${100 + i}`)));
    expect(outcomes.filter((o) => !o.ok && o.reason === 'invalid')).toHaveLength(ACCOUNT_LIMIT);
    expect(outcomes.filter((o) => !o.ok && o.reason === 'limited')).toHaveLength(2 * ACCOUNT_LIMIT);
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
      expect(keys.filter((k) => k.includes('{address:203.0.113.77}'))).not.toHaveLength(0);
      // besides the identifiers' keys, only the limiter's presence record (for the fallback's shares)
      expect(keys.filter((k) => !k.startsWith(`${prefix}-admin-sign-in:{`))).toEqual([`${prefix}-admin-sign-in:presence`]);
    } finally {
      await redis.quit();
    }
  });
});
