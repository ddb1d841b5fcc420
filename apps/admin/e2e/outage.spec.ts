// In headless Chromium, with Redis stopped: a signed-in admin opens the dashboard and a creator's
// page and reads "Redis unreachable" in the page's frame, not Next.js's error page.
import { expect, test } from '@playwright/test';

import { runPrefix, startServer, type Server } from '@airl/vitest-config/redis';

import { ADMIN_DIR, type RunningApp, startNextApp } from '../test/support/apps';
import { ADMINS } from './fixtures';

let server: Server;
let app: RunningApp;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  server = await startServer();
  const { hashPassword } = await import('../src/server/passwords');
  app = await startNextApp(ADMIN_DIR, {
    REDIS_URL: `redis://127.0.0.1:${server.port}`,
    RATE_LIMIT_PREFIX: runPrefix(),
    ADMIN_USERS: `alice:${await hashPassword(ADMINS.alice)}`,
    DEMO_ADMIN: 'false',
    SESSION_SECRET: 'e2e-outage-admin-session-secret-0123456789',
  });
});
test.afterAll(async () => {
  await app?.stop();
  await server?.stop();
});

test('with Redis stopped, pages say "Redis unreachable" instead of an error page', async ({ page }) => {
  await page.goto(`${app.url}/sign-in`);
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill(ADMINS.alice);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();

  await server.stop();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.getByTestId('unavailable')).toContainText('Redis unreachable');
  await page.goto(`${app.url}/creators/creator-ava`);
  await expect(page.getByTestId('unavailable')).toContainText('Redis unreachable');
  // the frame is there: navigation and who is signed in
  await expect(page.getByTestId('signed-in-as')).toHaveText('alice');
  await expect(page.locator('body')).not.toContainText(/Application error|ECONNREFUSED|Command timed out|max retries/);
});
