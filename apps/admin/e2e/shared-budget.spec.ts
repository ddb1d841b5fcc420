// The AI provider's shared budget, as both apps live it: the admin's Plans page shows its use live
// (polled every 3 s, no reload), an admin shrinks it there, and the running web app's next call is
// refused with a message saying it is a platform-wide limit, not the creator's plan, with the wait;
// restoring the code's plans lets calls through again. Both apps built, on one Redis.
import { expect, request, test } from '@playwright/test';

import { e2eEnv, signedInAdmin, signedInCreator } from './fixtures';

const { adminUrl } = e2eEnv();
const PLATFORM = "The platform's AI capacity is fully used by all creators right now: a platform-wide limit on AI requests shared by every creator, not a limit of your plan.";

test("the shared budget's use shows live in the admin app, and a change to it is felt by the web app", async ({ browser }) => {
  // Eve is on the business plan: her own limits are far from reached here
  const web = await signedInCreator(browser, 'creator-eve');

  const admin = await signedInAdmin(browser, '203.0.113.41', '/plans');
  const requests = admin.getByTestId('budget-limit-provider-requests');
  await expect(requests.getByTestId('limit')).toHaveText('3,000 requests');
  const shown = async () => Number((await requests.getByTestId('used').textContent())!.replaceAll(',', ''));

  try {
    // calls in the web app show in the admin page without a reload (the panel polls). The budget
    // is a sliding-window counter: the earlier specs' calls of the minute before weigh less as
    // time passes, so what is shown can drop by less than one call meanwhile; two calls must show
    const before = await shown();
    await web.getByTestId('run-caption').click();
    await expect(web.getByTestId('feature-caption').getByTestId('answer')).toBeVisible();
    await web.getByTestId('run-caption').click();
    await expect.poll(shown, { timeout: 10_000 }).toBeGreaterThan(before);

    // the admin shrinks the provider's budget to one request a minute (already used), with no
    // fair share (a share of one request would deny Eve first, as her own share)
    await expect(admin.getByLabel('provider-requests')).toHaveValue('3000');
    await admin.getByLabel('provider-requests').fill('1');
    await admin.getByLabel('provider fair share').fill('1');
    await admin.getByLabel('Reason').fill('provider incident');
    await admin.getByRole('button', { name: 'Save plan sizes' }).click();
    await expect(admin.getByTestId('update-plans-result')).toHaveText('The new plan sizes apply now on every instance.');
    await expect(requests.getByTestId('limit')).toHaveText('1 requests', { timeout: 10_000 });
    // already used up: the panel shows what is recorded, past the new limit too
    await expect.poll(shown).toBeGreaterThanOrEqual(1);

    // the web app's next call: refused by the platform's budget, said so, with the wait
    await web.getByTestId('run-fanReply').click();
    const denied = web.getByTestId('feature-fanReply').getByTestId('denied');
    await expect(denied.getByTestId('denied-message')).toHaveText(PLATFORM);
    // the budget is a sliding-window counter of one minute: the minute before keeps some weight
    // until a whole minute has passed, so the wait can be up to two minutes
    await expect(denied.getByTestId('retry-countdown')).toHaveText(/^[01]:[0-5]\d$|^2:00$/);

    await admin.goto(`${adminUrl}/audit`);
    await expect(admin.getByTestId('audit')).toContainText('plan sizes changed');
  } finally {
    await admin.goto(`${adminUrl}/plans`);
    await admin.getByRole('button', { name: "Restore the code's plans" }).click();
    await expect(admin.getByTestId('restore-plans-result')).toHaveText("The code's plan sizes apply again on every instance.");
  }
  await expect(requests.getByTestId('limit')).toHaveText('3,000 requests', { timeout: 10_000 });
  // the web app's next call fits again (the page waits out the countdown it showed first)
  await web.reload();
  await web.getByTestId('run-caption').click();
  await expect(web.getByTestId('feature-caption').getByTestId('answer')).toBeVisible();
});

test('the shared budget reading needs a signed-in admin', async () => {
  const api = await request.newContext();
  for (const cookie of [undefined, 'airl_admin_session=forged.token.value']) {
    const res = await api.get(`${adminUrl}/api/shared-budget`, { headers: cookie ? { cookie } : {} });
    expect(res.status()).toBe(401);
    expect(await res.json()).toEqual({ error: 'Sign in first.' });
  }
});
