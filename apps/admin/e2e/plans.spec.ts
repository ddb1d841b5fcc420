// A plan changed in the admin app is felt by the running web app on its next call: the admin
// raises the pro plan's hourly limit in the plan editor, and the creator's next AI call in the web
// app shows the new size with what they had used kept; restoring the code's plans brings the old
// size back. Both apps built, on one Redis (see global-setup.ts).
import { expect, test } from '@playwright/test';

import { ADMINS, e2eEnv } from './fixtures';

const { adminUrl, webUrl } = e2eEnv();
const PRO_HOURLY = 100;

test('a plan changed in the admin app is felt by the web app on its next call', async ({ browser }) => {
  const web = await (await browser.newContext()).newPage();
  await web.goto(`${webUrl}/sign-in`);
  // Chloe is on the pro plan (the web app looks a creator's plan up on the server)
  await web.getByLabel('Creator').selectOption('creator-chloe');
  await web.getByRole('button', { name: 'Sign in' }).click();
  await expect(web).toHaveURL(`${webUrl}/`);
  const hourly = web.getByTestId('limit-hourly');
  await web.getByTestId('run-caption').click();
  await expect(hourly.getByTestId('remaining')).toHaveText(String(PRO_HOURLY - 1));
  await expect(hourly).toContainText(`of ${PRO_HOURLY} available now`);

  const admin = await (await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': '203.0.113.40' } })).newPage();
  await admin.goto(`${adminUrl}/sign-in?next=/plans`);
  await admin.getByLabel('User name').fill('alice');
  await admin.getByLabel('Password').fill(ADMINS.alice);
  await admin.getByRole('button', { name: 'Sign in' }).click();
  await expect(admin).toHaveURL(`${adminUrl}/plans`);
  await expect(admin.getByTestId('plans-source')).toHaveText("The code's plans apply.");
  try {
    await admin.getByLabel('pro hourly').fill('130');
    await admin.getByLabel('Reason').fill('launch week');
    await admin.getByRole('button', { name: 'Save plan sizes' }).click();
    await expect(admin.getByTestId('update-plans-result')).toHaveText('The new plan sizes apply now on every instance.');
    await expect(admin.getByTestId('plans-source')).toHaveText(/^Changed by alice at /);
    await expect(admin.getByLabel('pro hourly')).toHaveValue('130');

    // the web app's next call: the new size, the call used before kept
    await web.getByTestId('run-caption').click();
    await expect(hourly.getByTestId('remaining')).toHaveText(String(130 - 2));
    await expect(hourly).toContainText('of 130 available now');

    await admin.goto(`${adminUrl}/audit`);
    await expect(admin.getByTestId('audit')).toContainText('plan sizes changed');
  } finally {
    await admin.goto(`${adminUrl}/plans`);
    await admin.getByRole('button', { name: "Restore the code's plans" }).click();
    await expect(admin.getByTestId('restore-plans-result')).toHaveText("The code's plan sizes apply again on every instance.");
  }
  await web.getByTestId('run-caption').click();
  await expect(hourly.getByTestId('remaining')).toHaveText(String(PRO_HOURLY - 3));
  await expect(hourly).toContainText(`of ${PRO_HOURLY} available now`);
});
