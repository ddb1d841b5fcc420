// What the plan editor's actions do once the caller is known to be a signed-in admin: read the
// form's sizes (one field per limit, `size:<plan>:<limit>`), hand them to the engine's plan editor
// (which validates them like the code's plans, audits the change and applies it on every
// instance), and say what happened in words.
import { isRedisFailure } from '@airl/creators';
import type { PlanEditor, PlanSizes } from '@airl/ratelimit/admin';
import { z } from 'zod';

import type { ActionResult } from './admin-actions';

const reason = z.string().trim().max(500, 'A reason is at most 500 characters.').optional().transform((r) => r || undefined);
const SIZE_FIELD = /^size:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{1,64})$/;

/** The sizes a form names: only those that differ from the code's (the rest stay the defaults). */
export function formSizes(form: FormData, defaults: Readonly<Record<string, Readonly<Record<string, number>>>>): { sizes: PlanSizes } | { error: string } {
  const plans: Record<string, Record<string, number>> = {};
  for (const [key, value] of form.entries()) {
    const match = SIZE_FIELD.exec(key);
    if (!match || typeof value !== 'string') continue;
    const [, plan, limit] = match as unknown as [string, string, string];
    const text = value.trim();
    if (!/^\d{1,15}$/.test(text) || Number(text) < 1) return { error: `The size of ${plan} / ${limit} must be a whole number of at least 1.` };
    const size = Number(text);
    if (defaults[plan]?.[limit] === size) continue;
    (plans[plan] ??= {})[limit] = size;
  }
  return { sizes: Object.keys(plans).length > 0 ? { plans } : {} };
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
  const read = formSizes(form, sizesOf(editor.defaults().plans));
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

/** The code's sizes and the sizes in force, by plan and limit. */
export async function planSizes(editor: PlanEditor): Promise<{ code: Sizes; effective: Sizes; changedBy: string | undefined; changedAt: number | undefined }> {
  const [effective, stored] = await Promise.all([editor.effective(), editor.current()]);
  return { code: sizesOf(editor.defaults().plans), effective: sizesOf(effective.plans), changedBy: stored?.by, changedAt: stored?.at };
}
