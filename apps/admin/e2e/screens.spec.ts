// What an admin sees, in headless Chromium beside the web app on one Redis, photographed into
// docs/screenshots/ (the README shows them) and checked: the search by id or name and its "nobody
// matches"; the heading's badge follows an override; an untouched limit says "unused" and a wait
// is written as the web app's clock; the spend reset is its own, confirmed form; the favicon.
import path from 'node:path';

import { expect, type Page, test } from '@playwright/test';

import { e2eEnv, signedInAdmin, signedInCreator } from './fixtures';

const { adminUrl } = e2eEnv();
// Playwright runs from the app's folder
const SHOTS = path.resolve('docs/screenshots');
const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

async function search(page: Page, query: string) {
  await page.getByRole('searchbox', { name: 'Creator id or name' }).fill(query);
  await page.getByRole('button', { name: 'Find' }).click();
}

test('the search finds a creator by id or by name, lists several, and says when nobody matches', async ({ browser }) => {
  const page = await signedInAdmin(browser, '203.0.113.50');
  await search(page, 'Ava2');
  await expect(page.getByTestId('no-match')).toHaveText(/^Nobody matches “Ava2”/);
  await expect(page.getByTestId('creator-title')).toHaveCount(0);
  await shot(page, 'search-no-match');
  // nor an empty page for an unknown creator typed into the address bar
  await page.goto(`${adminUrl}/creators/Ava`);
  await expect(page.getByTestId('no-match')).toHaveText(/^Nobody matches “Ava”/);
  await expect(page.getByTestId('creator-title')).toHaveCount(0);

  await search(page, 'ava');
  await expect(page).toHaveURL(`${adminUrl}/creators/creator-ava`);
  await expect(page.getByTestId('creator-title')).toContainText('Ava creator-ava');

  await search(page, 'creator-chloe');
  await expect(page).toHaveURL(`${adminUrl}/creators/creator-chloe`);

  await search(page, 'e');
  await expect(page.getByTestId('match')).toHaveText(['Ben creator-ben', 'Chloe creator-chloe', 'Eve creator-eve']);
});

test("a creator's page: the heading shows the plan in force, untouched limits say unused, waits read as a clock, spend reset apart", async ({ browser }) => {
  // the creator uses the web app once
  const web = await signedInCreator(browser, 'creator-chloe');
  await web.getByTestId('run-caption').click();
  await expect(web.getByTestId('feature-caption').getByTestId('answer')).toBeVisible();

  const page = await signedInAdmin(browser, '203.0.113.51');
  await page.goto(`${adminUrl}/creators/creator-chloe`);
  const title = page.getByTestId('title-plan');
  const base = await title.textContent();
  expect(base).not.toBe('business');
  // the burst wait as the web app writes it: a clock, not "in 60 seconds"
  await expect(page.getByTestId('limit-burst').getByTestId('capacity')).toHaveText(/^next in (0:\d\d|1:00)$/); // ceil: 1:00 within the first second
  await expect(page.getByTestId('limit-tokens').getByTestId('capacity')).toHaveText(/^all back by \d{4}-\d\d-\d\d 00:00:00 UTC$/);

  await page.getByLabel('Override plan').selectOption('business');
  await page.getByTestId('action-override').getByRole('button', { name: 'Override plan' }).click();
  await expect(page.getByTestId('action-override-result')).toHaveClass('ok');
  await expect(title).toHaveText('business');
  await expect(page.getByTestId('plan-name')).toHaveText('business');
  await expect(page.getByTestId('limit-tokens').getByTestId('used')).toHaveText(/^[1-9][\d,]*$/);
  // and the web page follows by itself
  await expect(web.getByTestId('plan')).toHaveText('business', { timeout: 6000 });

  // the spend reset needs its box ticked: the browser does not send the form without it
  const spendReset = page.getByTestId('action-reset-spend');
  await expect(spendReset).toContainText('This is not part of resetting rate limits.');
  await spendReset.getByRole('button', { name: 'Reset monthly spend' }).click();
  await expect(page.getByTestId('action-reset-spend-result')).toHaveCount(0);

  await page.getByTestId('action-reset').getByRole('button', { name: 'Reset rate limits' }).click();
  await expect(page.getByTestId('action-reset-result')).toHaveText('Every rate limit of creator-chloe was reset; the monthly AI budget was not.');
  for (const limit of ['burst', 'hourly', 'tokens']) await expect(page.getByTestId(`limit-${limit}`).getByTestId('capacity')).toHaveText(/^unused: all [\d,]+ available$/);
  await expect(page.getByTestId('limit-tokens').getByTestId('capacity')).toHaveText('unused: all 2,000,000 available');
  await expect(page.getByTestId('spent')).not.toContainText('$0.00 spent');
  await shot(page, 'creator');
});

test('the favicon is served', async ({ request }) => {
  const res = await request.get(`${adminUrl}/favicon.ico`);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toMatch(/image\/(x-icon|vnd\.microsoft\.icon)/);
});
