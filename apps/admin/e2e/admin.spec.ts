// The admin app in headless Chromium beside the web app, both built and on one Redis: an admin
// signs in, finds a creator who used the web app, sees their usage, resets it and sees it drop;
// overrides and blocks apply in the web app at once; wrong passwords are refused and repeated
// failures limited; and no page or action answers without a session, nor an action cross-site.
import fs from 'node:fs';
import path from 'node:path';

import type { CreatorPlan } from '@airl/creators';
import { createLimiters } from '@airl/creators/limiters';
import { createRateLimitAdmin } from '@airl/ratelimit/admin';
import { type Browser, expect, type Page, request, type Request, test } from '@playwright/test';
import { Redis } from 'ioredis';

import { ADMIN_DIR } from '../test/support/apps';
import { ADMINS, e2eEnv } from './fixtures';

const { adminUrl, webUrl, redisUrl, prefix } = e2eEnv();

/** A browser context posing as a client at `address` (the admin app trusts one proxy). */
async function adminPage(browser: Browser, address: string): Promise<Page> {
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': address } });
  return context.newPage();
}

async function signIn(page: Page, name: string, password: string) {
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A creator signs in to the web app (demo sign-in) and generates `calls` captions. */
async function useWebApp(page: Page, creatorId: string, plan: string, calls: number) {
  // the plan is the directory's (a sign-in form no longer sets it)
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await createLimiters({ client: redis, prefix }).directory.setPlan(creatorId, plan as CreatorPlan);
  } finally {
    await redis.quit();
  }
  await page.goto(`${webUrl}/sign-in`);
  await page.getByLabel('Creator').selectOption(creatorId);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${webUrl}/`);
  const hourly = page.getByTestId('limit-hourly').getByTestId('remaining');
  await expect(hourly).toHaveText(/^\d+$/);
  const start = Number(await hourly.textContent());
  for (let i = 1; i <= calls; i++) {
    await page.getByTestId('run-caption').click();
    await expect(hourly).toHaveText(String(start - i));
  }
}

/** The audit log as the engine keeps it (same Redis, same prefix as both apps). */
async function auditLength(): Promise<number> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const limiters = createLimiters({ client: redis, prefix });
    return (await createRateLimitAdmin(limiters.limiter).audit({ count: 1000 })).length;
  } finally {
    await redis.quit();
  }
}

test('an admin finds a creator who used the web app, sees their usage, resets it and sees it drop', async ({ browser }) => {
  const web = await (await browser.newContext()).newPage();
  await useWebApp(web, 'creator-ava', 'starter', 3);

  const page = await adminPage(browser, '203.0.113.10');
  await page.goto(`${adminUrl}/`);
  await expect(page).toHaveURL(`${adminUrl}/sign-in`);
  await signIn(page, 'alice', ADMINS.alice);
  await expect(page).toHaveURL(`${adminUrl}/`);
  await expect(page.getByTestId('signed-in-as')).toHaveText('alice');
  const cookie = (await page.context().cookies()).find((c) => c.name === 'airl_admin_session');
  expect(cookie).toMatchObject({ name: 'airl_admin_session', httpOnly: true, sameSite: 'Strict' });
  expect(cookie!.expires * 1000 - Date.now()).toBeGreaterThan(7.9 * 3_600_000);
  expect(cookie!.expires * 1000 - Date.now()).toBeLessThanOrEqual(8 * 3_600_000);

  // the web app writes its usage boards every few seconds: reload until they show the creator
  const ava = page.getByTestId('top-hour-requests').getByTestId('consumer').filter({ hasText: 'creator-ava' });
  await expect(async () => {
    await page.reload();
    await expect(ava).toContainText('3 requests', { timeout: 2000 });
  }).toPass({ timeout: 60_000 });
  await expect(page.getByTestId('top-day-requests').getByTestId('consumer').filter({ hasText: 'creator-ava' })).toContainText('3 requests');
  await expect(page.getByTestId('top-hour-tokens').getByTestId('consumer').filter({ hasText: 'creator-ava' })).toContainText(/\d tokens/);
  await expect(page.getByTestId('top-hour-cents').getByTestId('consumer').filter({ hasText: 'creator-ava' })).toContainText(/\$0\.\d\d/);

  await ava.getByRole('link', { name: 'creator-ava' }).click();
  await expect(page).toHaveURL(`${adminUrl}/creators/creator-ava`);
  await expect(page.getByTestId('creator-title')).toContainText('Ava creator-ava');
  await expect(page.getByTestId('title-plan')).toHaveText('starter');
  await expect(page.getByTestId('plan-name')).toHaveText('starter');
  await expect(page.getByTestId('plan-source')).toHaveText('default');
  const used = (limit: string) => page.getByTestId(`limit-${limit}`).getByTestId('used');
  await expect(used('burst')).toHaveText('3');
  await expect(used('hourly')).toHaveText('3');
  await expect(used('tokens')).not.toHaveText('0');
  await expect(page.getByTestId('spent')).toContainText(/^\$0\.\d\d of \$10\.00 used/);
  await expect(page.getByTestId('spent')).not.toContainText('$0.00 of');

  await page.getByTestId('action-reset').getByRole('button', { name: 'Reset rate limits' }).click();
  await expect(page.getByTestId('action-reset-result')).toHaveText('Every rate limit of creator-ava was reset; the monthly AI budget was not.');
  await expect(used('burst')).toHaveText('0');
  await expect(used('hourly')).toHaveText('0');
  await expect(used('tokens')).toHaveText('0');
  // resetting rate limits leaves the month's spend: that is its own, confirmed act
  await expect(page.getByTestId('spent')).toContainText(/^\$0\.\d\d of \$10\.00 used/);
  await expect(page.getByTestId('spent')).not.toContainText('$0.00 of');
  await page.getByLabel('Confirm the spend reset').check();
  await page.getByTestId('action-reset-spend').getByRole('button', { name: 'Reset monthly spend' }).click();
  await expect(page.getByTestId('action-reset-spend-result')).toHaveText('The monthly AI budget of creator-ava was reset: their spend this month starts again from $0.00.');
  await expect(page.getByTestId('spent')).toContainText('$0.00 of $10.00 used (0%)');

  // the creator has the capacity back in the web app
  await web.getByTestId('refresh').click();
  await expect(web.getByTestId('limit-burst').getByTestId('remaining')).toHaveText('5');

  await page.getByRole('link', { name: 'Audit log' }).click();
  const entry = page.getByTestId('audit-entry').first();
  await expect(entry.getByTestId('audit-actor')).toHaveText('alice');
  await expect(entry.getByTestId('audit-action')).toHaveText('reset');
  await expect(entry.getByTestId('audit-creator')).toHaveText('creator-ava');
});

test('a plan override and a block apply in the web app at once, and lifting them restores it', async ({ browser }) => {
  const web = await (await browser.newContext()).newPage();
  await useWebApp(web, 'creator-ben', 'starter', 1);
  const page = await adminPage(browser, '203.0.113.11');
  await page.goto(`${adminUrl}/creators/creator-ben`);
  await signIn(page, 'alice', ADMINS.alice);
  await expect(page).toHaveURL(`${adminUrl}/creators/creator-ben`);

  await page.getByLabel('Override plan').selectOption('business');
  await page.getByLabel('Override duration').selectOption('1 h');
  await page.getByTestId('action-override').getByRole('textbox').fill('ticket 7');
  await page.getByTestId('action-override').getByRole('button', { name: 'Override plan' }).click();
  await expect(page.getByTestId('action-override-result')).toHaveText(/^creator-ben is on the business plan until .* UTC\.$/);
  await expect(page.getByTestId('plan-name')).toHaveText('business');
  await expect(page.getByTestId('plan-source')).toHaveText('override');
  await expect(page.getByTestId('plan')).toContainText('set by alice: ticket 7');
  const burst = web.getByTestId('limit-burst');
  // the open page follows by itself
  await expect(web.getByTestId('limits')).toContainText('(business plan)', { timeout: 6000 });
  await expect(web.getByTestId('plan')).toHaveText('business');
  await expect(burst).toContainText('of 60 available now');

  await page.getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByTestId('controls').getByTestId('control').filter({ hasText: 'creator-ben' })).toContainText('business until');
  await page.goBack();

  await page.getByLabel('Block duration').selectOption('1 h');
  await page.getByTestId('action-block').getByRole('button', { name: 'Block' }).click();
  await expect(page.getByTestId('blocked')).toContainText('by alice');
  const caption = web.getByTestId('feature-caption');
  // the open page shows the block by itself, and Generate is off
  await expect(web.getByTestId('blocked')).toContainText('Your account is blocked until', { timeout: 6000 });
  await expect(caption.getByTestId('run-caption')).toBeDisabled();

  await page.getByLabel('What to lift').selectOption('both');
  await page.getByTestId('action-lift').getByRole('button', { name: 'Lift' }).click();
  await expect(page.getByTestId('action-lift-result')).toHaveText('The plan override and block of creator-ben were lifted.');
  await expect(page.getByTestId('not-blocked')).toBeVisible();
  await expect(page.getByTestId('plan-name')).toHaveText('starter');
  await expect(async () => {
    await caption.getByTestId('run-caption').click();
    await expect(caption.getByTestId('denied')).toHaveCount(0, { timeout: 2000 });
    await expect(web.getByTestId('limits')).toContainText('(starter plan)', { timeout: 2000 });
  }).toPass({ timeout: 30_000 });
});

test('a wrong password is refused, and repeated failures are limited with the time to wait', async ({ browser }) => {
  const page = await adminPage(browser, '203.0.113.20');
  await page.goto(`${adminUrl}/sign-in`);
  const error = page.getByTestId('sign-in-error');
  for (let i = 1; i <= 5; i++) {
    await signIn(page, 'bob', `wrong-${i}`);
    await expect(error).toHaveText('Wrong user name or password.');
    await expect(page).toHaveURL(`${adminUrl}/sign-in`);
    // the next failure must render anew
    await page.reload();
  }
  await signIn(page, 'bob', 'wrong-6');
  await expect(error).toHaveText(/^Too many failed sign-ins\. Try again in 1[45] minutes\.$/);
  // the right password does not get through from the guesser's place either
  await page.reload();
  await signIn(page, 'bob', ADMINS.bob);
  await expect(error).toHaveText(/^Too many failed sign-ins/);
  // but the guesser cannot lock bob out: from another address he gets in
  const elsewhere = await adminPage(browser, '203.0.113.21');
  await elsewhere.goto(`${adminUrl}/sign-in`);
  await signIn(elsewhere, 'bob', ADMINS.bob);
  await expect(elsewhere).toHaveURL(`${adminUrl}/`);
  // nor another admin from the guesser's address
  await page.reload();
  await signIn(page, 'alice', ADMINS.alice);
  await expect(page).toHaveURL(`${adminUrl}/`);
});

test('every page refuses a request without a valid session', async () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(ADMIN_DIR, '.next/server/app-paths-manifest.json'), 'utf8')) as Record<string, string>;
  const pages = Object.keys(manifest)
    .filter((p) => p.endsWith('/page') && !/\/_(not-found|global-error)\//.test(p) && p !== '/sign-in/page')
    .map((p) => p.replace(/\/page$/, '') || '/');
  // every page of the build is checked: a new one lands here by itself
  expect(pages.sort()).toEqual(['/', '/audit', '/creators', '/creators/[id]', '/plans']);
  const api = await request.newContext();
  for (const route of pages) {
    const url = `${adminUrl}${route.replace('[id]', 'creator-ava')}`;
    for (const cookie of [undefined, 'airl_admin_session=forged.token.value']) {
      const res = await api.get(url, { maxRedirects: 0, headers: cookie ? { cookie } : {} });
      expect(res.status(), `${url} with ${cookie ?? 'no cookie'}`).toBe(307);
      expect(res.headers().location, url).toMatch(/^\/sign-in(\?next=|$)/);
      expect(await res.text()).not.toContain('Monthly AI budget');
    }
  }
  await api.dispose();
});

test('every server action refuses a request without a session, and one from another site or without Origin even with one', async ({ browser }) => {
  const actions = JSON.parse(fs.readFileSync(path.join(ADMIN_DIR, '.next/server/server-reference-manifest.json'), 'utf8')) as { node: Record<string, { exportedName: string }> };
  const names = Object.fromEntries(Object.entries(actions.node).map(([id, a]) => [id, a.exportedName]));
  // every action of the build is checked below: a new one must be added here
  expect(Object.values(names).sort()).toEqual(['blockCreator', 'liftControls', 'overridePlan', 'resetLimits', 'restorePlans', 'signIn', 'signOut', 'signOutEverywhere', 'updatePlans']);

  const page = await adminPage(browser, '203.0.113.30');
  const captured = new Map<string, { url: string; headers: Record<string, string>; body: Buffer }>();
  /** Does `act` in the browser and keeps the server action request it sends, to replay it. */
  async function capture(act: () => Promise<void>) {
    const [req] = await Promise.all([page.waitForRequest((r: Request) => r.method() === 'POST' && r.headers()['next-action'] !== undefined), act()]);
    const headers = await req.allHeaders();
    captured.set(names[headers['next-action']!]!, { url: req.url(), headers, body: req.postDataBuffer()! });
  }

  await page.goto(`${adminUrl}/sign-in?next=/creators/creator-dan`);
  await capture(() => signIn(page, 'alice', ADMINS.alice));
  await expect(page).toHaveURL(`${adminUrl}/creators/creator-dan`);
  const session = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const buttons = { resetLimits: ['action-reset', 'Reset rate limits'], overridePlan: ['action-override', 'Override plan'], blockCreator: ['action-block', 'Block'], liftControls: ['action-lift', 'Lift'] } as const;
  for (const [name, [testId, label]] of Object.entries(buttons)) {
    await capture(() => page.getByTestId(testId).getByRole('button', { name: label }).click());
    await expect(page.getByTestId(`${testId}-result`)).toHaveClass('ok');
    expect(captured.has(name)).toBe(true);
  }
  // the plan editor's actions (each writes one audit entry, as the creator actions do)
  const planButtons = { updatePlans: ['update-plans', 'Save plan sizes'], restorePlans: ['restore-plans', "Restore the code's plans"] } as const;
  await page.goto(`${adminUrl}/plans`);
  for (const [name, [testId, label]] of Object.entries(planButtons)) {
    await capture(() => page.getByTestId(testId).getByRole('button', { name: label }).click());
    await expect(page.getByTestId(`${testId}-result`)).toHaveClass('ok');
    expect(captured.has(name)).toBe(true);
  }

  const api = await request.newContext();
  const replay = async (name: string, { cookie, origin }: { cookie?: string; origin?: string }) => {
    const c = captured.get(name)!;
    const headers: Record<string, string> = { 'content-type': c.headers['content-type']!, 'next-action': c.headers['next-action']!, accept: 'text/x-component' };
    if (c.headers['next-router-state-tree']) headers['next-router-state-tree'] = c.headers['next-router-state-tree'];
    if (cookie) headers.cookie = cookie;
    if (origin) headers.origin = origin;
    return api.post(c.url, { headers, data: c.body, maxRedirects: 0, failOnStatusCode: false });
  };

  for (const name of [...Object.keys(buttons), ...Object.keys(planButtons)]) {
    const before = await auditLength();
    // no session: 403, nothing done
    expect((await replay(name, { origin: adminUrl })).status(), name).toBe(403);
    // a session, but from another site, or without an Origin header: 403
    expect((await replay(name, { cookie: session, origin: 'https://evil.example' })).status(), name).toBe(403);
    expect((await replay(name, { cookie: session, origin: 'null' })).status(), name).toBe(403);
    expect((await replay(name, { cookie: session })).status(), name).toBe(403);
    expect(await auditLength(), `${name} was refused`).toBe(before);
    // the same request, same-origin with the session, is carried out: the replays were real ones
    const accepted = await replay(name, { cookie: session, origin: adminUrl });
    expect(accepted.status(), name).toBe(200);
    expect(accepted.headers()['x-action-redirect'], name).toBeUndefined();
    // one audit entry per action (a rate limit reset names the limits it reset in one entry)
    expect(await auditLength(), `${name} was carried out`).toBe(before + 1);
  }

  // signing in from another site cannot plant a session (login CSRF); from here it can
  for (const origin of ['https://evil.example', undefined]) {
    const res = await replay('signIn', origin ? { origin } : {});
    expect(res.status()).toBe(403);
    expect(res.headers()['set-cookie']).toBeUndefined();
  }
  const signedIn = await replay('signIn', { origin: adminUrl });
  expect(signedIn.headers()['set-cookie']).toMatch(/(^|\n)airl_admin_session=[^\n]+; Path=\/; Expires=[^\n]+; Max-Age=28800; HttpOnly; SameSite=strict($|\n)/i);

  // signing out (last: it ends the session the replays used) and signing out everywhere
  for (const [name, label] of [['signOutEverywhere', 'End every session'], ['signOut', 'Sign out']] as const) {
    await page.goto(`${adminUrl}/audit`);
    if (page.url().includes('/sign-in')) await signIn(page, 'alice', ADMINS.alice);
    await expect(page).toHaveURL(`${adminUrl}/audit`);
    await capture(() => page.getByRole('button', { name: label, exact: true }).click());
    await expect(page).toHaveURL(`${adminUrl}/sign-in`);
    for (const origin of ['https://evil.example', 'null', undefined]) expect((await replay(name, origin ? { origin } : {})).status(), `${name} ${origin}`).toBe(403);
  }
  await api.dispose();
});

test('signing out ends the session', async ({ browser }) => {
  const page = await adminPage(browser, '203.0.113.40');
  await page.goto(`${adminUrl}/audit`);
  await expect(page).toHaveURL(`${adminUrl}/sign-in?next=%2Faudit`);
  await signIn(page, 'alice', ADMINS.alice);
  await expect(page).toHaveURL(`${adminUrl}/audit`);
  await expect(page.getByTestId('memory-notice')).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${adminUrl}/sign-in`);
  // only the known-device cookie stays (it opens nothing; it spares this browser others' failed sign-ins)
  expect((await page.context().cookies()).map((c) => c.name)).toEqual(['airl_admin_device']);
  await page.goto(`${adminUrl}/`);
  await expect(page).toHaveURL(`${adminUrl}/sign-in`);
});
