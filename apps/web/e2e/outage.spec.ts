// In headless Chromium, with Redis stopped: a creator the app knew opens the page, sees that the
// usage service is unreachable (not an error page), and still gets an AI answer.
import { expect, test } from '@playwright/test';

import { startServer, type Server } from '@airl/vitest-config/redis';

import { type RunningApp, startApp } from '../test/support/app-server';

let server: Server;
let app: RunningApp;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  server = await startServer();
  app = await startApp({ REDIS_URL: `redis://127.0.0.1:${server.port}`, RATE_LIMIT_PREFIX: `e2e-outage-${server.port}` });
});
test.afterAll(async () => {
  await app?.stop();
  await server?.stop();
});

test('with Redis stopped, the page shows a notice and the AI features still answer', async ({ page }) => {
  await page.goto(`${app.url}/sign-in`);
  await page.getByLabel('Creator').selectOption('creator-dan');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${app.url}/`);
  await expect(page.getByTestId('plan')).toHaveText('pro');

  await server.stop();
  await page.reload();
  // the app read dan's plan before: it keeps it
  await expect(page.getByTestId('plan')).toHaveText('pro');
  await expect(page.getByTestId('degraded-notice')).toContainText('Our usage service is unreachable');
  await expect(page.getByTestId('quota-degraded')).toBeVisible();

  const card = page.getByTestId('feature-caption');
  await card.getByTestId('run-caption').click();
  await expect(card.getByTestId('answer')).toBeVisible();
  await expect(card.getByRole('alert')).toHaveCount(0);
  await expect(page.locator('body')).not.toContainText(/Application error|ECONNREFUSED|Command timed out|max retries/);
});
