// What the plan editor's actions do once the caller is known to be a signed-in admin: read the
// form's sizes (one field per limit, `size:<plan>:<limit>`; per shared budget limit,
// `budget:<budget>:<limit>`, and its fair share, `share:<budget>`), hand them to the engine's plan editor
// (which validates them like the code's plans, audits the change and applies it on every
// instance), and say what happened in words.
import { isRedisFailure } from '@airl/creators';
import type { PlanEditor, PlanSizes } from '@airl/ratelimit/admin';
import { z } from 'zod';

import type { ActionResult } from './admin-actions';

const reason = z.string().trim().max(500, 'A reason is at most 500 characters.').optional().transform((r) => r || undefined);
const SIZE_FIELD = /^size:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{1,64})$/;

const BUDGET_FIELD = /^budget:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{1,64})$/;
const SHARE_FIELD = /^share:([A-Za-z0-9_-]{1,64})$/;

/** A shared budget's sizes: its limits by name and its fair share. */
export interface BudgetSizes {
  readonly limits: Readonly<Record<string, number>>;
  readonly maxShare: number;
}

const wholeSize = (text: string) => (/^\d{1,15}$/.test(text) && Number(text) >= 1 ? Number(text) : undefined);

/**
 * The sizes a form names (`size:<plan>:<limit>`, `budget:<budget>:<limit>`, `share:<budget>`):
 * only those that differ from the code's (the rest stay the defaults).
 */
export function formSizes(
  form: FormData,
  defaults: Readonly<Record<string, Readonly<Record<string, number>>>>,
  budgetDefaults: Readonly<Record<string, BudgetSizes>> = {},
): { sizes: PlanSizes } | { error: string } {
  const plans: Record<string, Record<string, number>> = {};
  const shared: Record<string, { limits?: Record<string, number>; maxShare?: number }> = {};
  for (const [key, value] of form.entries()) {
    if (typeof value !== 'string') continue;
    const text = value.trim();
    const plan = SIZE_FIELD.exec(key);
    const budget = BUDGET_FIELD.exec(key);
    const share = SHARE_FIELD.exec(key);
    if (plan) {
      const [, name, limit] = plan as unknown as [string, string, string];
      const size = wholeSize(text);
      if (size === undefined) return { error: `The size of ${name} / ${limit} must be a whole number of at least 1.` };
      if (defaults[name]?.[limit] !== size) (plans[name] ??= {})[limit] = size;
    } else if (budget) {
      const [, name, limit] = budget as unknown as [string, string, string];
      const size = wholeSize(text);
      if (size === undefined) return { error: `The size of the shared budget ${name} / ${limit} must be a whole number of at least 1.` };
      if (budgetDefaults[name]?.limits[limit] !== size) ((shared[name] ??= {}).limits ??= {})[limit] = size;
    } else if (share) {
      const [, name] = share as unknown as [string, string];
      const fraction = /^(0(\.\d{1,6})?|1(\.0{1,6})?|\.\d{1,6})$/.test(text) ? Number(text) : Number.NaN;
      if (!(fraction > 0 && fraction <= 1)) return { error: `The fair share of ${name} must be a fraction of the budget above 0 and at most 1 (for example 0.1).` };
      if (budgetDefaults[name]?.maxShare !== fraction) (shared[name] ??= {}).maxShare = fraction;
    }
  }
  return { sizes: { ...(Object.keys(plans).length > 0 && { plans }), ...(Object.keys(shared).length > 0 && { shared }) } };
}

function failure(error: unknown): ActionResult {
  // by name: the engine's errors may come from another bundle than this module
  if (error instanceof Error && (error.name === 'RateLimitConfigError' || error.name === 'RateLimitInputError')) return { ok: false, message: error.message };
  if (isRedisFailure(error)) return { ok: false, message: 'Redis did not answer, so the change may not have been applied: reload the page to check, and try again.' };
  throw error;
}

/** Stores new plan sizes for `actor`. */
export async function runUpdatePlans(editor: PlanEditor, actor: string, form: FormData): Promise<ActionResult> {
  const why = reason.safeParse(form.get('reason') ?? undefined);
  if (!why.success) return { ok: false, message: why.error.issues.map((i) => i.message).join(' ') };
  const defaults = editor.defaults();
  const read = formSizes(form, sizesOf(defaults.plans), budgetsOf(defaults.shared));
  if ('error' in read) return { ok: false, message: read.error };
  try {
    await editor.update({ actor, sizes: read.sizes, ...(why.data && { reason: why.data }) });
    return { ok: true, message: 'The new plan sizes apply now on every instance.' };
  } catch (error) {
    return failure(error);
  }
}

/** Brings back the code's plans for `actor`. */
export async function runRestorePlans(editor: PlanEditor, actor: string): Promise<ActionResult> {
  try {
    await editor.restoreDefaults({ actor });
    return { ok: true, message: "The code's plan sizes apply again on every instance." };
  } catch (error) {
    return failure(error);
  }
}

type Sizes = Record<string, Record<string, number>>;
const sizesOf = (plans: Readonly<Record<string, { limits: readonly { name: string; limit: number }[] }>>): Sizes =>
  Object.fromEntries(Object.entries(plans).map(([name, plan]) => [name, Object.fromEntries(plan.limits.map((l) => [l.name, l.limit]))]));

type SharedConfig = ReturnType<PlanEditor['defaults']>['shared'];
const budgetsOf = (shared: SharedConfig): Record<string, BudgetSizes> =>
  Object.fromEntries(Object.entries(shared ?? {}).map(([name, b]) => [name, { limits: Object.fromEntries(b.limits.map((l) => [l.name, l.limit])), maxShare: b.maxShare ?? 1 }]));

/** The code's sizes and the sizes in force, by plan and limit, and of each shared budget. */
export async function planSizes(editor: PlanEditor): Promise<{
  code: Sizes;
  effective: Sizes;
  budgets: { code: Record<string, BudgetSizes>; effective: Record<string, BudgetSizes> };
  changedBy: string | undefined;
  changedAt: number | undefined;
}> {
  const [effective, stored] = await Promise.all([editor.effective(), editor.current()]);
  const defaults = editor.defaults();
  return {
    code: sizesOf(defaults.plans),
    effective: sizesOf(effective.plans),
    budgets: { code: budgetsOf(defaults.shared), effective: budgetsOf(effective.shared) },
    changedBy: stored?.by,
    changedAt: stored?.at,
  };
}
