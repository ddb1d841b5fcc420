// What a creator sees, in headless Chromium against the built app on a real Redis, each state
// photographed into docs/screenshots/ (the README shows them) and checked: a blocked creator sees
// the block, not "used up"; one wait per limit that ticks and agrees with the server; a daily
// counter says what is available and when all is back; the badge follows an admin's override; the
// open page follows an admin's block, reset and override without a click; too-long input gets a
// sentence, not JSON; untouched limits say "unused"; the favicon is served.
import path from 'node:path';

import { createLimiters, type Limiters } from '@airl/creators/limiters';
import { createRateLimitAdmin, type RateLimitAdmin } from '@airl/ratelimit/admin';
import { expect, type Page, test } from '@playwright/test';
import { Redis } from 'ioredis';

const baseURL = process.env.E2E_BASE_URL!;
// Playwright runs from the app's folder
const SHOTS = path.resolve('docs/screenshots');
/** An admin's action must show on an open page within this, without a click (the page polls every 3 s). */
const LIVE_MS = 6000;

let redis: Redis;
let limiters: Limiters;
let admin: RateLimitAdmin;

test.beforeAll(() => {
  // the engine on the app's Redis and prefix: what the admin app does, without its pages
  redis = new Redis(process.env.E2E_REDIS_URL!, { maxRetriesPerRequest: 1 });
  limiters = createLimiters({ client: redis, prefix: process.env.E2E_PREFIX! });
  admin = createRateLimitAdmin(limiters.limiter);
});
test.afterAll(async () => {
  await limiters.close();
  await redis.quit();
});

async function signIn(page: Page, creatorId: string) {
  await page.goto(`${baseURL}/sign-in`);
  await page.getByLabel('Creator').selectOption(creatorId);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.getByTestId('limit-burst')).toBeVisible();
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

test('a blocked creator is told until when and why, and the limits show real usage, not "used up"', async ({ page }) => {
  await signIn(page, 'creator-ben');
  await page.getByTestId('run-caption').click();
  await expect(page.getByTestId('feature-caption').getByTestId('answer')).toBeVisible();
  await expect(page.getByTestId('limit-burst').getByTestId('used')).toHaveText('1');

  await admin.block('creator-ben', { actor: 'alice', for: '1 h', reason: 'ticket 9' });
  // no click: the open page follows
  const banner = page.getByTestId('blocked');
  await expect(banner).toHaveText(/^Your account is blocked until \w{3} \d{1,2}, \d\d:\d\d UTC \(ticket 9\)\./, { timeout: LIVE_MS });
  await expect(page.getByTestId('limit-burst').getByTestId('remaining')).toHaveText('4');
  await expect(page.getByTestId('limit-hourly').getByTestId('remaining')).toHaveText('49');
  await expect(page.getByTestId('limit-burst').getByTestId('reset')).toHaveText('Paused while your account is blocked.');
  await expect(page.getByTestId('spent')).toHaveText(/^\$0\.0\d of \$10\.00 used \((0|0\.\d+)%\)$/);
  await expect(page.getByTestId('budget-warning')).toHaveCount(0);
  await expect(page.getByText(/(^|[^\d,])0 of [\d,]+ available/)).toHaveCount(0);
  await expect(page.getByTestId('run-caption')).toBeDisabled();
  await shot(page, 'blocked');

  await admin.lift('creator-ben', { actor: 'alice', what: 'block' });
  await expect(banner).toHaveCount(0, { timeout: LIVE_MS });
  await expect(page.getByTestId('run-caption')).toBeEnabled();
});

test('a denied call shows one wait per limit, live, agreeing with the server; an admin reset ends it without a click', async ({ page }) => {
  // creator.spec.ts (run before this file, same app and prefix) leaves Ava with a call made
  await limiters.limiter.reset('creator-ava');
  await signIn(page, 'creator-ava');
  // nothing used yet: no limit says "full", counts are grouped
  await expect(page.getByTestId('limit-burst').getByTestId('reset')).toHaveText('Unused: all 5 available.');
  await expect(page.getByTestId('limit-tokens').getByTestId('reset')).toHaveText('Unused: all 20,000 available.');
  await expect(page.getByTestId('limit-tokens')).toContainText('20,000 of 20,000 available now');
  await expect(page.getByTestId('creator-id')).toHaveText('creator-ava');
  await shot(page, 'fresh');

  const card = page.getByTestId('feature-caption');
  const run = card.getByTestId('run-caption');
  for (let i = 1; i <= 5; i++) {
    await run.click();
    await expect(card.getByTestId('answer')).toBeVisible();
    await expect(page.getByTestId('limit-burst').getByTestId('used')).toHaveText(String(i));
  }
  // the daily token counter: what is available now and when all of it is back, a moment that stays put
  const tokens = page.getByTestId('limit-tokens');
  await expect(tokens.getByTestId('reset')).toHaveText(/^All 20,000 back by \w{3} \d{1,2}, 00:00 UTC\.$/);
  await expect(tokens.getByTestId('remaining')).toHaveText(/^19,\d{3}$/);
  await expect(tokens).not.toContainText('come back in');

  await run.click();
  const denied = card.getByTestId('denied');
  await expect(denied).toBeVisible();
  await expect(card.getByTestId('denied-message')).toHaveText('You have reached your per-minute limit of 5 AI requests.');
  await expect(run).toBeDisabled();
  // every feature waits: they share the creator's limits
  for (const key of ['fanReply', 'performanceAnalysis', 'salesOptimization']) await expect(page.getByTestId(`run-${key}`)).toBeDisabled();
  // no static wait beside the live one
  await expect(page.getByText(/\d+ (seconds?|minutes|hours)/)).toHaveCount(0);

  const countdown = card.getByTestId('retry-countdown');
  const burstWait = page.getByTestId('limit-burst').getByTestId('reset');
  await expect(countdown).toHaveText(/^0:\d\d$/);
  const seconds = (text: string) => {
    const [m, s] = text.split(':').map(Number);
    return m! * 60 + s!;
  };
  // the same wait where the limit is shown and where the denial is, and the server's own
  const started = Date.now();
  const status = await limiters.limiter.peek('creator-ava', { plan: 'starter' });
  const server = status.limits.find((l) => l.name === 'burst')!;
  const [onCard, onLimit] = await Promise.all([countdown.textContent(), burstWait.textContent()]);
  const took = (Date.now() - started) / 1000;
  expect(onLimit).toBe(`Next one back in ${onCard}.`);
  expect(Math.abs(seconds(onCard!) - (server.resetAt - status.now) / 1000)).toBeLessThanOrEqual(1 + took);
  await shot(page, 'denied');
  // it ticks, and both places tick together
  await expect(countdown).not.toHaveText(onCard!);
  const [later, laterLimit] = await Promise.all([countdown.textContent(), burstWait.textContent()]);
  expect(laterLimit).toBe(`Next one back in ${later}.`);

  await admin.reset('creator-ava', { actor: 'alice' });
  await expect(page.getByTestId('limit-burst').getByTestId('remaining')).toHaveText('5', { timeout: LIVE_MS });
  await expect(denied).toHaveCount(0);
  await expect(run).toBeEnabled();
  await expect(page.getByTestId('run-fanReply')).toBeEnabled();
  await expect(page.getByTestId('limit-burst').getByTestId('reset')).toHaveText('Unused: all 5 available.');
});

test("the badge shows an admin's override as soon as it is made, and the creator's own plan beside it", async ({ page }) => {
  await signIn(page, 'creator-dan');
  const badge = page.getByTestId('plan');
  await expect(badge).not.toHaveText('business');
  const base = await badge.textContent();
  await admin.overridePlan('creator-dan', { actor: 'alice', plan: 'business', for: '1 h', reason: 'trial' });
  await expect(badge).toHaveText('business', { timeout: LIVE_MS });
  await expect(page.getByTestId('plan-override')).toHaveText(`An admin put you on the business plan for now (your plan: ${base}).`);
  await expect(page.getByTestId('limits')).toContainText('(business plan)');
  await expect(page.getByTestId('limit-burst')).toContainText('60 of 60 available now');
  await expect(page.getByTestId('limit-tokens')).toContainText('2,000,000 of 2,000,000');
  await shot(page, 'override');
  await admin.lift('creator-dan', { actor: 'alice', what: 'override' });
  await expect(badge).toHaveText(base!, { timeout: LIVE_MS });
});

test('text boxes stop at the limit with a counter, and too-long input gets a sentence, not JSON', async ({ page }) => {
  await signIn(page, 'creator-eve');
  const card = page.getByTestId('feature-caption');
  const box = card.getByRole('textbox');
  await expect(box).toHaveAttribute('maxlength', '2000');
  await box.fill('Beach day');
  await expect(card.getByTestId('counter')).toHaveText('9 / 2,000 characters');
  // a browser that ignores maxlength (or a hand-made request) gets the server's sentence
  await box.evaluate((el) => el.removeAttribute('maxlength'));
  await box.fill('x'.repeat(2001));
  await expect(card.getByTestId('counter')).toHaveText('2,001 / 2,000 characters');
  await card.getByTestId('run-caption').click();
  await expect(card.getByTestId('failure')).toHaveText('The text is too long: at most 2,000 characters. Shorten it and try again.');
  await shot(page, 'too-long');
});

test('the favicon is served', async ({ request }) => {
  const res = await request.get(`${baseURL}/favicon.ico`);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toMatch(/image\/(x-icon|vnd\.microsoft\.icon)/);
});
