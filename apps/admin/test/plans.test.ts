// The plan editor's server logic on a real Redis and a real cluster: the form's sizes become the
// engine's (only those that differ from the code's), bad sizes are refused with what to fix and
// change nothing, and a saved change reaches a web app instance on its next call.
import { AI_PLANS, AI_SHARED } from '@airl/creators';
import { createLimiters } from '@airl/creators/limiters';
import { describe, expect, it } from 'vitest';

import { formSizes, planSizes, runRestorePlans, runUpdatePlans } from '~/server/plan-actions';
import { sharedBudgetUse } from '~/server/shared-budget';

import { adminApp, client, closeLater, freshPrefix, KINDS } from './support/redis';

const form = (entries: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(entries)) f.set(k, v);
  return f;
};
const proHourly = AI_PLANS.pro.limits.find((l) => l.name === 'hourly')!.limit;

describe('the plan form', () => {
  const code = { pro: { hourly: proHourly, burst: 20 } };
  it('names only the sizes that differ from the code, and refuses what is not a size', () => {
    expect(formSizes(form({ 'size:pro:hourly': String(proHourly), 'size:pro:burst': '20' }), code)).toEqual({ sizes: {} });
    expect(formSizes(form({ 'size:pro:hourly': '130', 'size:pro:burst': '20', reason: 'x' }), code)).toEqual({ sizes: { plans: { pro: { hourly: 130 } } } });
    for (const bad of ['0', '-3', '1.5', 'ten', '']) {
      expect(formSizes(form({ 'size:pro:hourly': bad }), code)).toEqual({ error: 'The size of pro / hourly must be a whole number of at least 1.' });
    }
  });

  it("reads the shared budget's sizes and fair share the same way", () => {
    const budgets = { provider: { limits: { 'provider-requests': 3000, 'provider-tokens': 1_000_000 }, maxShare: 0.1 } };
    expect(formSizes(form({ 'budget:provider:provider-requests': '3000', 'share:provider': '0.1' }), code, budgets)).toEqual({ sizes: {} });
    expect(formSizes(form({ 'size:pro:hourly': '130', 'budget:provider:provider-requests': '2000', 'budget:provider:provider-tokens': '1000000', 'share:provider': '0.25' }), code, budgets)).toEqual({
      sizes: { plans: { pro: { hourly: 130 } }, shared: { provider: { limits: { 'provider-requests': 2000 }, maxShare: 0.25 } } },
    });
    for (const bad of ['0', '-3', '1.5', 'ten', '']) {
      expect(formSizes(form({ 'budget:provider:provider-tokens': bad }), code, budgets)).toEqual({ error: 'The size of the shared budget provider / provider-tokens must be a whole number of at least 1.' });
    }
    for (const bad of ['0', '-0.1', '1.5', '2', 'half', '', '1e-3']) {
      expect(formSizes(form({ 'share:provider': bad }), code, budgets)).toEqual({ error: 'The fair share of provider must be a fraction of the budget above 0 and at most 1 (for example 0.1).' });
    }
    expect(formSizes(form({ 'share:provider': '1' }), code, budgets)).toEqual({ sizes: { shared: { provider: { maxShare: 1 } } } });
  });
});

describe.each(KINDS)('the plan editor on %s', (kind) => {
  it('saves sizes the web app feels on its next call, refuses unknown plans, and restores the code', async () => {
    const prefix = freshPrefix();
    const admin = adminApp(kind, prefix);
    const web = createLimiters({ client: client(kind), prefix });
    closeLater(() => web.close());
    const editor = admin.plans!;
    expect((await web.limiter.check('creator-chloe', { plan: 'pro' })).limits.find((l) => l.name === 'hourly')?.limit).toBe(proHourly);

    expect(await runUpdatePlans(editor, 'alice', form({ 'size:pro:hourly': '130', reason: 'launch' }))).toEqual({ ok: true, message: 'The new plan sizes apply now on every instance.' });
    expect((await planSizes(editor)).effective.pro!.hourly).toBe(130);
    let hourly: number | undefined;
    for (let i = 0; i < 100 && hourly !== 130; i++) {
      hourly = (await web.limiter.peek('creator-chloe', { plan: 'pro' })).limits.find((l) => l.name === 'hourly')?.limit;
      if (hourly !== 130) await new Promise((r) => setTimeout(r, 20));
    }
    expect(hourly).toBe(130);
    expect((await admin.admin.audit({ count: 1 }))[0]).toMatchObject({ actor: 'alice', action: 'plans' });

    const unknown = await runUpdatePlans(editor, 'alice', form({ 'size:gold:hourly': '5' }));
    expect(unknown.ok).toBe(false);
    expect(unknown.message).toMatch(/plans\.gold: no such plan/);
    expect((await planSizes(editor)).effective.pro!.hourly).toBe(130);

    expect(await runRestorePlans(editor, 'bob')).toEqual({ ok: true, message: "The code's plan sizes apply again on every instance." });
    expect(await planSizes(editor)).toMatchObject({ effective: { pro: { hourly: proHourly } }, changedBy: undefined });
  });

  it("saves the provider's budget, which the web app's next calls feel, and shows its use", async () => {
    const prefix = freshPrefix();
    const admin = adminApp(kind, prefix);
    const web = createLimiters({ client: client(kind), prefix });
    closeLater(() => web.close());
    const editor = admin.plans!;
    const requests = AI_SHARED.provider!.limits[0]!;
    expect(await planSizes(editor)).toMatchObject({ budgets: { code: { provider: { limits: { [requests.name]: requests.limit }, maxShare: 0.1 } } } });
    expect((await web.limiter.check('creator-chloe', { plan: 'pro' })).allowed).toBe(true);

    expect(await runUpdatePlans(editor, 'alice', form({ [`budget:provider:${requests.name}`]: '2', 'share:provider': '0.5' }))).toMatchObject({ ok: true });
    expect((await planSizes(editor)).budgets.effective.provider).toMatchObject({ limits: { [requests.name]: 2 }, maxShare: 0.5 });
    // the web app hears the change: Dan's call fits (2 of 2), Eve's is refused by the platform's budget
    let limit: number | undefined;
    for (let i = 0; i < 100 && limit !== 2; i++) {
      limit = (await web.limiter.peek('creator-dan', { plan: 'pro' })).limits.find((l) => l.name === requests.name)?.limit;
      if (limit !== 2) await new Promise((r) => setTimeout(r, 20));
    }
    expect((await web.limiter.check('creator-dan', { plan: 'pro' })).allowed).toBe(true);
    expect(await web.limiter.check('creator-eve', { plan: 'business' })).toMatchObject({ allowed: false, deniedBy: requests.name, sharedBudget: 'provider' });
    const use = await sharedBudgetUse(admin);
    expect(use.budgets).toHaveLength(1);
    expect(use.budgets[0]).toMatchObject({ name: 'provider', maxShare: 0.5 });
    expect(use.budgets[0]!.limits.find((l) => l.name === requests.name)).toMatchObject({ used: 2, limit: 2, unit: 'requests' });
    expect((await admin.admin.audit({ count: 1 }))[0]).toMatchObject({ actor: 'alice', action: 'plans' });

    const bad = await runUpdatePlans(editor, 'alice', form({ 'share:provider': '0' }));
    expect(bad).toEqual({ ok: false, message: 'The fair share of provider must be a fraction of the budget above 0 and at most 1 (for example 0.1).' });
    await runRestorePlans(editor, 'alice');
    expect((await sharedBudgetUse(admin)).budgets[0]!.limits.find((l) => l.name === requests.name)).toMatchObject({ limit: requests.limit });
  });
});
