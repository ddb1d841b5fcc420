// The admin app's server logic against the web app's data, on a real Redis and a real cluster:
// "web" is a second instance with its own connections, counting the way apps/web does. What the
// creator page shows, what the actions change (at once on the other instance), top consumers,
// anomalies and the audit log.
import { createLimiters } from '@airl/creators/limiters';
import { describe, expect, it } from 'vitest';

import { runAdminAction } from '~/server/admin-actions';
import { creatorView } from '~/server/creator-view';
import { dashboard } from '~/server/dashboard';
import { searchCreators } from '~/server/search';

import { adminApp, client, closeLater, eventually, freshPrefix, type Kind, KINDS } from './support/redis';

/** The admin app and a web app instance on the same store and prefix. */
function apps(kind: Kind) {
  const prefix = freshPrefix();
  const admin = adminApp(kind, prefix);
  const web = createLimiters({ client: client(kind), prefix });
  closeLater(() => web.close());
  return { admin, web, prefix };
}

/** What the app passes: the demo plans' rate limits. */
const actionOptions = { rateLimits: ['burst', 'hourly', 'tokens'] };

const form = (fields: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  return f;
};

describe.each(KINDS)('on %s', (kind) => {
  it('shows a creator: plan and source, every limit, the budget against its quota, denials, reservations', async () => {
    const { admin, web } = apps(kind);
    await web.directory.setPlan('creator-ava', 'starter');
    for (let i = 0; i < 3; i++) await web.limiter.check('creator-ava', { plan: 'starter', cost: { tokens: 500, cents: 2 } });
    const running = await web.limiter.reserve('creator-ava', { plan: 'starter', cost: { tokens: 800, cents: 4 } });
    await web.limiter.check('creator-ava', { plan: 'starter', cost: { tokens: 100, cents: 1 } });
    const denied = await web.limiter.check('creator-ava', { plan: 'starter', cost: { tokens: 100, cents: 1 } });
    expect(denied.deniedBy).toBe('burst');

    const view = await creatorView(admin, 'creator-ava');
    expect(view).toMatchObject({ id: 'creator-ava', known: true, name: 'Ava', basePlan: 'starter', plan: 'starter', planSource: 'default', block: undefined });
    expect(view.limits.map((l) => [l.name, l.unit, l.used, l.remaining, l.limit])).toEqual([
      ['burst', 'requests', 5, 0, 5],
      ['hourly', 'requests', 5, 45, 50],
      ['tokens', 'tokens', 2400, 17_600, 20_000],
    ]);
    expect(view.limits[0]!.resetAt).toBeGreaterThan(view.now);
    expect(view.spend).toMatchObject({ quotaUsd: 10, spentCents: 11, remainingCents: 989, percentUsed: 1.1, warning: null });
    expect(new Date(view.spend.renewsAt).getUTCDate()).toBe(1);
    expect(view.reservations).toEqual([{ id: running.reservation!.id, expiresAt: running.reservation!.expiresAt, parts: expect.arrayContaining([{ limit: 'tokens', cost: 800 }, { limit: 'monthly-spend', cost: 4 }]) as unknown }]);
    expect(view.denials.map((d) => d.limit)).toEqual(['burst']);
  });

  it('warns at 80% and 95% of the monthly budget; business is unlimited', async () => {
    const { admin, web } = apps(kind);
    await web.directory.setPlan('creator-chloe', 'pro');
    await web.limiter.check('creator-chloe', { plan: 'pro', cost: { cents: 4100 } });
    expect((await creatorView(admin, 'creator-chloe')).spend).toMatchObject({ quotaUsd: 50, spentCents: 4100, percentUsed: 82, warning: 'warning' });
    await web.limiter.check('creator-chloe', { plan: 'pro', cost: { cents: 700 } });
    expect((await creatorView(admin, 'creator-chloe')).spend).toMatchObject({ spentCents: 4800, remainingCents: 200, percentUsed: 96, warning: 'critical' });
    // a call settled past the budget and the daily tokens (the work was done): shown as recorded
    const over = await web.limiter.reserve('creator-chloe', { plan: 'pro', cost: { tokens: 500, cents: 100 } });
    await web.limiter.settle(over.reservation!, { cost: { tokens: 250_100, cents: 2501 } });
    const past = await creatorView(admin, 'creator-chloe');
    expect(past.spend).toMatchObject({ spentCents: 7301, remainingCents: 0, percentUsed: 146, warning: 'critical' });
    expect(past.limits.find((l) => l.name === 'tokens')).toMatchObject({ used: 250_100, remaining: 0, limit: 200_000 });
    await web.limiter.check('creator-eve', { plan: 'business', cost: { cents: 123_456 } });
    expect((await creatorView(admin, 'creator-eve')).spend).toMatchObject({ quotaUsd: null, spentCents: 123_456, remainingCents: null, warning: null });
  });

  it('shows an id the directory does not know under the plan asked for', async () => {
    const { admin, web } = apps(kind);
    await web.limiter.check('api-client-7', { plan: 'pro' });
    expect(await creatorView(admin, 'api-client-7')).toMatchObject({ known: false, name: undefined, basePlan: 'starter', limits: [{ name: 'burst', used: 1, limit: 5 }, {}, {}] });
    expect(await creatorView(admin, 'api-client-7', { plan: 'pro' })).toMatchObject({ known: false, basePlan: 'pro', limits: [{ name: 'burst', used: 1, limit: 20 }, {}, {}] });
  });

  it('resets one limit or all of them, and the web instance has the capacity back at once', async () => {
    const { admin, web } = apps(kind);
    for (let i = 0; i < 5; i++) await web.limiter.check('creator-ben', { plan: 'starter', cost: { tokens: 10, cents: 1 } });
    // denied, and remembered by the web instance's deny cache
    expect((await web.limiter.check('creator-ben', { plan: 'starter' })).allowed).toBe(false);

    expect(await runAdminAction(admin.admin, 'alice', 'reset', form({ creatorId: 'creator-ben', limit: 'burst', reason: 'ticket 1' }), actionOptions)).toEqual({ ok: true, message: "The 'burst' limit of creator-ben was reset." });
    const one = await creatorView(admin, 'creator-ben');
    expect(one.limits.map((l) => [l.name, l.used])).toEqual([['burst', 0], ['hourly', 5], ['tokens', 50]]);
    // the reset announced itself: the web instance dropped its cached denial
    expect(await eventually(() => web.limiter.check('creator-ben', { plan: 'starter' }), (r) => r.allowed)).toMatchObject({ allowed: true });

    expect(await runAdminAction(admin.admin, 'alice', 'reset', form({ creatorId: 'creator-ben', limit: 'all' }), actionOptions)).toEqual({ ok: true, message: 'Every rate limit of creator-ben was reset; the monthly AI budget was not.' });
    const all = await creatorView(admin, 'creator-ben');
    expect(all.limits.map((l) => l.used)).toEqual([0, 0, 0]);
    // spend is a separate act
    expect(all.spend.spentCents).toBe(5);
    expect(all.audit.map((e) => [e.actor, e.action, e.details])).toEqual([
      // one entry for the whole reset
      ['alice', 'reset', { limit: 'burst, hourly, tokens' }],
      ['alice', 'reset', { limit: 'burst', reason: 'ticket 1' }],
    ]);

    // the monthly spend: only with the box ticked
    expect(await runAdminAction(admin.admin, 'alice', 'reset', form({ creatorId: 'creator-ben', limit: 'monthly-spend' }), actionOptions)).toEqual({ ok: false, message: 'Nothing was reset: tick the box to confirm that the monthly AI budget starts again from $0.00.' });
    expect((await creatorView(admin, 'creator-ben')).spend.spentCents).toBe(5);
    expect(await runAdminAction(admin.admin, 'alice', 'reset', form({ creatorId: 'creator-ben', limit: 'monthly-spend', confirm: 'yes' }), actionOptions)).toEqual({ ok: true, message: 'The monthly AI budget of creator-ben was reset: their spend this month starts again from $0.00.' });
    expect((await creatorView(admin, 'creator-ben')).spend.spentCents).toBe(0);
  });

  it('overrides a plan and blocks for a while, lifts both, on every instance at once', async () => {
    const { admin, web } = apps(kind);
    await web.directory.setPlan('creator-dan', 'starter');
    for (let i = 0; i < 5; i++) await web.limiter.check('creator-dan', { plan: 'starter' });
    expect((await web.limiter.check('creator-dan', { plan: 'starter' })).allowed).toBe(false);

    const override = await runAdminAction(admin.admin, 'alice', 'override', form({ creatorId: 'creator-dan', plan: 'pro', duration: '24 h', reason: 'ticket 42' }), actionOptions);
    expect(override).toMatchObject({ ok: true, message: expect.stringMatching(/^creator-dan is on the pro plan until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/) as string });
    const upgraded = await eventually(() => web.limiter.check('creator-dan', { plan: 'starter' }), (r) => r.allowed);
    expect(upgraded).toMatchObject({ allowed: true, plan: 'pro' });
    const overridden = await creatorView(admin, 'creator-dan');
    expect(overridden).toMatchObject({ basePlan: 'starter', plan: 'pro', planSource: 'override', override: { by: 'alice', reason: 'ticket 42' } });
    expect(overridden.override!.until - overridden.now).toBeGreaterThan(23 * 3_600_000);
    expect(overridden.limits[0]).toMatchObject({ name: 'burst', limit: 20, used: 6 });

    expect(await runAdminAction(admin.admin, 'bob', 'block', form({ creatorId: 'creator-dan', duration: '1 h', reason: 'abuse' }), actionOptions)).toMatchObject({ ok: true });
    expect(await eventually(() => web.limiter.check('creator-dan', { plan: 'starter' }), (r) => !r.allowed)).toMatchObject({ allowed: false, deniedBy: 'blocked' });
    expect((await creatorView(admin, 'creator-dan')).block).toMatchObject({ by: 'bob', reason: 'abuse' });

    // the dashboard lists what is in force, each part with its own author and reason
    expect((await dashboard(admin)).controls).toEqual([
      {
        identifier: 'creator-dan',
        override: { plan: 'pro', until: overridden.override!.until, by: 'alice', reason: 'ticket 42', at: expect.any(Number) as number },
        block: { until: expect.any(Number) as number, by: 'bob', reason: 'abuse', at: expect.any(Number) as number },
      },
    ]);

    expect(await runAdminAction(admin.admin, 'bob', 'lift', form({ creatorId: 'creator-dan', what: 'block' }), actionOptions)).toEqual({ ok: true, message: 'The block of creator-dan was lifted.' });
    expect(await eventually(() => web.limiter.check('creator-dan', { plan: 'starter' }), (r) => r.allowed)).toMatchObject({ allowed: true, plan: 'pro' });
    expect(await runAdminAction(admin.admin, 'bob', 'lift', form({ creatorId: 'creator-dan' }), actionOptions)).toEqual({ ok: true, message: 'The plan override and block of creator-dan were lifted.' });
    const back = await eventually(() => web.limiter.peek('creator-dan', { plan: 'starter' }), (r) => r.plan === 'starter');
    expect(back.plan).toBe('starter');
    expect(await creatorView(admin, 'creator-dan')).toMatchObject({ plan: 'starter', planSource: 'default', block: undefined });
    expect((await dashboard(admin)).controls).toEqual([]);

    // the audit log: who did what to whom and when, newest first
    const audit = await admin.admin.audit();
    expect(audit.map((e) => [e.actor, e.action, e.identifier])).toEqual([
      ['bob', 'lift', 'creator-dan'],
      ['bob', 'lift', 'creator-dan'],
      ['bob', 'block', 'creator-dan'],
      ['alice', 'override', 'creator-dan'],
    ]);
    expect(audit[3]!.details).toMatchObject({ plan: 'pro', reason: 'ticket 42', until: overridden.override!.until });
    // the creator page shows the creator's own history
    expect((await creatorView(admin, 'creator-dan')).audit.map((e) => e.action)).toEqual(['lift', 'lift', 'block', 'override']);
  });

  it('finds creators by id or name, an unknown id only when the limiter has something on it, and nobody otherwise', async () => {
    const { admin, web } = apps(kind);
    expect(await searchCreators(admin, 'creator-ava')).toEqual([{ id: 'creator-ava', name: 'Ava' }]);
    expect(await searchCreators(admin, 'ava')).toEqual([{ id: 'creator-ava', name: 'Ava' }]);
    expect((await searchCreators(admin, 'E')).map((m) => m.id)).toEqual(['creator-ben', 'creator-chloe', 'creator-eve']);
    // "Ava2" is nobody: no empty page for a typo
    expect(await searchCreators(admin, 'Ava2')).toEqual([]);
    await web.limiter.check('api-client-9', { plan: 'starter' });
    expect(await searchCreators(admin, 'api-client-9')).toEqual([{ id: 'api-client-9', name: undefined }]);
  });

  it('says what is wrong with a form, and changes nothing', async () => {
    const { admin } = apps(kind);
    const cases: [Parameters<typeof runAdminAction>[2], Record<string, string>, RegExp][] = [
      ['reset', { creatorId: '' }, /A creator id is required/],
      ['reset', { creatorId: 'creator-ava', limit: 'nope' }, /unknown limit 'nope'; the limits are: burst, hourly, tokens, monthly-spend/],
      ['override', { creatorId: 'creator-ava', plan: 'gold', duration: '1 h' }, /The plan must be one of starter, pro, business/],
      ['override', { creatorId: 'creator-ava', plan: 'pro', duration: '90 d' }, /at most/],
      ['block', { creatorId: 'creator-ava', duration: 'soon' }, /soon/],
      ['block', { creatorId: 'creator-ava', duration: '1 h', reason: 'x'.repeat(501) }, /at most 500 characters/],
      ['lift', { creatorId: 'creator-ava', what: 'everything' }, /override|block|both/],
    ];
    for (const [kindOf, fields, message] of cases) {
      const result = await runAdminAction(admin.admin, 'alice', kindOf, form(fields), actionOptions);
      expect(result.ok, `${kindOf} ${JSON.stringify(fields)}`).toBe(false);
      expect(result.message).toMatch(message);
    }
    expect(await admin.admin.audit()).toEqual([]);
  });

  it('shows top consumers per hour and day in requests, tokens and cents, and the latest anomalies', async () => {
    const { admin, web } = apps(kind);
    for (let i = 0; i < 3; i++) await web.limiter.check('creator-ava', { plan: 'pro', cost: { tokens: 1000, cents: 5 } });
    await web.limiter.check('creator-ben', { plan: 'pro', cost: { tokens: 9000, cents: 1 } });
    // a burst: more than twice the starter's hourly limit (50) within 5 minutes (resets let them through)
    for (let i = 0; i < 101; i++) {
      await web.limiter.check('creator-eve', { plan: 'starter' });
      if (i % 5 === 4) {
        await web.limiter.reset('creator-eve', { limit: 'burst' });
        await web.limiter.reset('creator-eve', { limit: 'hourly' });
      }
    }
    // the web instance writes its usage boards every few seconds; closing writes them now
    await web.close();

    const data = await dashboard(admin);
    for (const period of ['hour', 'day'] as const) {
      expect(data.top[period].requests).toEqual([
        { identifier: 'creator-eve', amount: 101 },
        { identifier: 'creator-ava', amount: 3 },
        { identifier: 'creator-ben', amount: 1 },
      ]);
      expect(data.top[period].tokens).toEqual([
        { identifier: 'creator-ben', amount: 9000 },
        { identifier: 'creator-ava', amount: 3000 },
      ]);
      expect(data.top[period].cents).toEqual([
        { identifier: 'creator-ava', amount: 15 },
        { identifier: 'creator-ben', amount: 1 },
      ]);
    }
    expect(data.controls).toEqual([]);
    expect(data.anomalies).toEqual([expect.objectContaining({ rule: 'burst', identifier: 'creator-eve', plan: 'starter', threshold: 100, value: 101, windowMs: 300_000, blockedUntil: undefined })]);
    expect(Math.abs(data.anomalies[0]!.at - Date.now())).toBeLessThan(60_000);
  });
});
