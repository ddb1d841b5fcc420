// The plan editor's server logic on a real Redis and a real cluster: the form's sizes become the
// engine's (only those that differ from the code's), bad sizes are refused with what to fix and
// change nothing, and a saved change reaches a web app instance on its next call.
import { AI_PLANS } from '@airl/creators';
import { createLimiters } from '@airl/creators/limiters';
import { describe, expect, it } from 'vitest';

import { formSizes, planSizes, runRestorePlans, runUpdatePlans } from '~/server/plan-actions';

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
});
