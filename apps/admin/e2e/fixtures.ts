// What the browser tests share with their global setup: the admin accounts both are run with, and
// where the two apps run (set in the environment by the setup, inherited by the workers), and
// signing in to each.
import { type Browser, expect, type Page } from '@playwright/test';

/** Admin accounts of the test run (hashed into ADMIN_USERS by the setup). */
export const ADMINS = { alice: 'alice-long-test-password', bob: 'bob-long-test-password' } as const;

/** The web app's session secret in the test run (the admin app gets another one). */
export const WEB_SESSION_SECRET = 'e2e-web-session-secret-0123456789-abcdef';
export const ADMIN_SESSION_SECRET = 'e2e-admin-session-secret-0123456789-abcdef';

export function e2eEnv() {
  const get = (name: string) => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: run the browser tests through playwright.config.ts (its global setup starts the apps)`);
    return value;
  };
  return { adminUrl: get('E2E_ADMIN_URL'), webUrl: get('E2E_WEB_URL'), redisUrl: get('E2E_REDIS_URL'), prefix: get('E2E_PREFIX') };
}

/** A browser page of its own signed in to the admin app as alice, from `address`, landed on `next`. */
export async function signedInAdmin(browser: Browser, address: string, next = '/'): Promise<Page> {
  const { adminUrl } = e2eEnv();
  const page = await (await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': address } })).newPage();
  await page.goto(next === '/' ? `${adminUrl}/sign-in` : `${adminUrl}/sign-in?next=${next}`);
  await page.getByLabel('User name').fill('alice');
  await page.getByLabel('Password').fill(ADMINS.alice);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${adminUrl}${next}`);
  return page;
}

/** A browser page of its own signed in to the web app as demo creator `creatorId`. */
export async function signedInCreator(browser: Browser, creatorId: string): Promise<Page> {
  const { webUrl } = e2eEnv();
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${webUrl}/sign-in`);
  await page.getByLabel('Creator').selectOption(creatorId);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${webUrl}/`);
  return page;
}
