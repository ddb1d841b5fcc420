// A starter creator signs in, uses a feature until denied, sees the message and a live countdown;
// after a reset through the engine the page shows the capacity back and the feature works again.
import { createLimiters } from '@airl/creators/limiters';
import { expect, test } from '@playwright/test';
import { Redis } from 'ioredis';

const baseURL = process.env.E2E_BASE_URL!;

test('a starter creator is limited, told when to retry, and gets capacity back after a reset', async ({ page }) => {
  await page.goto(`${baseURL}/`);
  // not signed in: the demo sign-in page, saying why
  await expect(page).toHaveURL(/\/sign-in\?from=%2F$/);
  await expect(page.getByTestId('please-sign-in')).toBeVisible();
  await page.getByLabel('Creator').selectOption('creator-ava');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.getByTestId('plan')).toHaveText('starter');

  const burst = page.getByTestId('limit-burst');
  await expect(burst.getByTestId('remaining')).toHaveText('5');

  const card = page.getByTestId('feature-caption');
  const run = card.getByTestId('run-caption');
  for (let i = 1; i <= 5; i++) {
    await run.click();
    await expect(run).toBeEnabled();
    await expect(card.getByTestId('answer')).toBeVisible();
    await expect(card.getByTestId('denied')).toHaveCount(0);
  }
  await expect(burst.getByTestId('remaining')).toHaveText('0');
  await expect(burst.getByTestId('reset')).toHaveText(/back in \d+:\d\d/);

  await run.click();
  const denied = card.getByTestId('denied');
  await expect(denied).toBeVisible();
  // the wait is shown once, live, below the message
  await expect(card.getByTestId('denied-message')).toHaveText('You have reached your per-minute limit of 5 AI requests.');
  const countdown = card.getByTestId('retry-countdown');
  await expect(countdown).toHaveText(/^0:\d\d$/);
  // live: the countdown moves on its own
  const first = await countdown.textContent();
  await expect(countdown).not.toHaveText(first!);

  // reset through the engine (same Redis, same prefix as the app)
  const redis = new Redis(process.env.E2E_REDIS_URL!, { maxRetriesPerRequest: 1 });
  try {
    const limiters = createLimiters({ client: redis, prefix: process.env.E2E_PREFIX! });
    await limiters.limiter.reset('creator-ava');
  } finally {
    await redis.quit();
  }

  await page.getByTestId('refresh').click();
  await expect(burst.getByTestId('remaining')).toHaveText('5');
  await expect(burst.getByTestId('reset')).toHaveText('Unused: all 5 available.');
  await run.click();
  await expect(card.getByTestId('answer')).toBeVisible();
  await expect(card.getByTestId('denied')).toHaveCount(0);
  await expect(burst.getByTestId('remaining')).toHaveText('4');
});

test('the memory notice is absent on Redis, and signing out ends the session', async ({ page }) => {
  await page.goto(`${baseURL}/sign-in`);
  await page.getByLabel('Creator').selectOption('creator-chloe');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('limits')).toBeVisible();
  await expect(page.getByTestId('memory-notice')).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  await page.goto(`${baseURL}/`);
  await expect(page).toHaveURL(/\/sign-in\?from=%2F$/);
});
