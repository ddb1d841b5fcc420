// A plan changed in the admin app is felt by the running web app on its next call: the admin
// raises the pro plan's hourly limit in the plan editor, and the creator's next AI call in the web
// app shows the new size with what they had used kept; restoring the code's plans brings the old
// size back. Both apps built, on one Redis (see global-setup.ts).
import { expect, test } from '@playwright/test';

import { e2eEnv, signedInAdmin, signedInCreator } from './fixtures';

const { adminUrl } = e2eEnv();
const PRO_HOURLY = 100;

test('a plan changed in the admin app is felt by the web app on its next call', async ({ browser }) => {
  // Chloe is on the pro plan (the web app looks a creator's plan up on the server)
  const web = await signedInCreator(browser, 'creator-chloe');
  const hourly = web.getByTestId('limit-hourly');
  await web.getByTestId('run-caption').click();
  await expect(hourly.getByTestId('remaining')).toHaveText(String(PRO_HOURLY - 1));
  await expect(hourly).toContainText(`of ${PRO_HOURLY} available now`);

  const admin = await signedInAdmin(browser, '203.0.113.40', '/plans');
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
