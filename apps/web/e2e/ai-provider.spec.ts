// The creator's page with an OpenAI-compatible provider on loopback: a failing provider shows the
// short message with its reference (never the provider's words), and usage past the limits shows
// as recorded (25,100 tokens of 20,000; $25.01 of $10), not capped at the limit.
import { randomUUID } from 'node:crypto';

import { createLimiters } from '@airl/creators/limiters';
import { expect, test } from '@playwright/test';
import { Redis } from 'ioredis';

import { type RunningApp, startApp } from '../test/support/app-server';
import { type FakeProvider, startFakeProvider } from '../test/support/fake-provider';

let provider: FakeProvider;
let app: RunningApp;
const prefix = `e2e-ai-${randomUUID().slice(0, 8)}`;

test.beforeAll(async () => {
  provider = await startFakeProvider();
  app = await startApp({
    REDIS_URL: process.env.E2E_REDIS_URL!,
    RATE_LIMIT_PREFIX: prefix,
    AI_BASE_URL: provider.baseURL,
    AI_MODEL: 'test-model',
    AI_API_KEY: 'sk-test-e2e-0123456789',
    AI_TIMEOUT: '5000',
    // $1,000 per million output tokens: 25,000 of them cost $25
    AI_PRICE_OUTPUT_CENTS_PER_MTOK: '100000',
  });
});

test.afterAll(async () => {
  await app?.stop();
  await provider?.close();
});

test('a failed call shows one short message with a reference; usage past the limits shows uncapped', async ({ page }) => {
  const redis = new Redis(process.env.E2E_REDIS_URL!, { maxRetriesPerRequest: 1 });
  try {
    const limiters = createLimiters({ client: redis, prefix });
    await limiters.limiter.reset('creator-ben');
    // the plan is the directory's (a sign-in form no longer sets it)
    await limiters.directory.setPlan('creator-ben', 'starter');
  } finally {
    await redis.quit();
  }
  await page.goto(`${app.url}/sign-in`);
  await page.getByLabel('Creator').selectOption('creator-ben');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(`${app.url}/`);

  const card = page.getByTestId('feature-caption');
  const field = card.getByRole('textbox');
  const run = card.getByTestId('run-caption');
  await field.fill('Sunset shoot [status 500]');
  await run.click();
  const failure = card.getByTestId('failure');
  await expect(failure).toHaveText(
    /^The AI service is unavailable right now\. Please try again in a moment\. No tokens or budget were charged; the request counts toward your request limits\. \(reference [0-9a-f]{12}\)$/,
  );
  await expect(failure).not.toContainText('XYZ');
  const tokens = page.getByTestId('limit-tokens');
  const burst = page.getByTestId('limit-burst');
  await expect(burst.getByTestId('used')).toHaveText('1');
  await expect(tokens.getByTestId('used')).toHaveText('0');

  await field.fill('Sunset shoot [usage 100 25000]');
  await run.click();
  await expect(card.getByTestId('answer')).toContainText('25,100 tokens · 2501¢ charged');
  await expect(tokens.getByTestId('used')).toHaveText('25,100');
  await expect(tokens.getByTestId('remaining')).toHaveText('0');
  await expect(page.getByTestId('budget')).toContainText('$25.01 of $10.00 used (250.1%)');
});
