// What the admin actions do once the caller is known to be a signed-in admin: validate the form,
// call the engine's admin API (which audits every action and announces it to every instance),
// and say what happened in words.
import 'server-only';

import { isPlan, isRedisFailure, PLANS, SPEND_LIMIT } from '@airl/creators';
import type { Duration } from '@airl/ratelimit';
import type { RateLimitAdmin } from '@airl/ratelimit/admin';
import { z } from 'zod';

import { formatTime } from '../lib/format';

export type ActionResult = { readonly ok: boolean; readonly message: string };

/** The durations the forms offer for overrides and blocks (the engine allows up to 30 days). */
export const DURATIONS = ['15 m', '1 h', '4 h', '24 h', '7 d', '30 d'] as const;

const creatorId = z.string().trim().min(1, 'A creator id is required.').max(256);
const reason = z
  .string()
  .trim()
  .max(500, 'A reason is at most 500 characters.')
  .optional()
  .transform((r) => r || undefined);
// the engine parses a duration ('1 h', '30 m'...) and bounds it (30 days at most)
const duration = z
  .string()
  .trim()
  .min(1, 'Pick a duration.')
  .max(20)
  .transform((d) => d as Duration);

const schemas = {
  // `limit`: one limit's name, or 'all' (the default) for every rate limit; the monthly spend
  // is reset only by name and with `confirm` ticked
  reset: z.object({ creatorId, limit: z.string().trim().max(64).optional(), confirm: z.string().optional(), reason }),
  override: z.object({ creatorId, plan: z.string().refine(isPlan, { message: `The plan must be one of ${PLANS.join(', ')}.` }), duration, reason }),
  block: z.object({ creatorId, duration, reason }),
  lift: z.object({ creatorId, what: z.enum(['override', 'block', 'both']).default('both'), reason }),
};

export type AdminActionKind = keyof typeof schemas;

/** A form's text fields (files are ignored). */
function fields(form: FormData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form.entries()) if (typeof v === 'string') out[k] = v;
  return out;
}

export interface AdminActionOptions {
  /** The rate limits' names (every limit of every plan but the monthly spend): what a plain reset resets. */
  rateLimits: readonly string[];
}

/** Runs an admin action for `actor` (the signed-in admin) from a submitted form. */
export async function runAdminAction(admin: RateLimitAdmin, actor: string, kind: AdminActionKind, form: FormData, options: AdminActionOptions): Promise<ActionResult> {
  const parsed = schemas[kind].safeParse(fields(form));
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => i.message).join(' ') };
  try {
    switch (kind) {
      case 'reset': {
        const input = parsed.data as z.infer<typeof schemas.reset>;
        const limit = input.limit && input.limit !== 'all' ? input.limit : undefined;
        const common = { actor, ...(input.reason && { reason: input.reason }) };
        if (limit === SPEND_LIMIT) {
          if (input.confirm !== 'yes') return { ok: false, message: 'Nothing was reset: tick the box to confirm that the monthly AI budget starts again from $0.00.' };
          await admin.reset(input.creatorId, { ...common, limit });
          return { ok: true, message: `The monthly AI budget of ${input.creatorId} was reset: their spend this month starts again from $0.00.` };
        }
        if (limit) {
          await admin.reset(input.creatorId, { ...common, limit });
          return { ok: true, message: `The '${limit}' limit of ${input.creatorId} was reset.` };
        }
        // every rate limit in one step and one audit entry; the monthly spend is left alone
        await admin.reset(input.creatorId, { ...common, limit: options.rateLimits });
        return { ok: true, message: `Every rate limit of ${input.creatorId} was reset; the monthly AI budget was not.` };
      }
      case 'override': {
        const input = parsed.data as z.infer<typeof schemas.override>;
        const control = await admin.overridePlan(input.creatorId, { actor, plan: input.plan, for: input.duration, ...(input.reason && { reason: input.reason }) });
        return { ok: true, message: `${input.creatorId} is on the ${input.plan} plan until ${formatTime(control.override!.until)}.` };
      }
      case 'block': {
        const input = parsed.data as z.infer<typeof schemas.block>;
        const control = await admin.block(input.creatorId, { actor, for: input.duration, ...(input.reason && { reason: input.reason }) });
        return { ok: true, message: `${input.creatorId} is blocked until ${formatTime(control.block!.until)}.` };
      }
      case 'lift': {
        const input = parsed.data as z.infer<typeof schemas.lift>;
        await admin.lift(input.creatorId, { actor, what: input.what, ...(input.reason && { reason: input.reason }) });
        const what = { override: 'plan override', block: 'block', both: 'plan override and block' }[input.what];
        return { ok: true, message: `The ${what} of ${input.creatorId} ${input.what === 'both' ? 'were' : 'was'} lifted.` };
      }
    }
  } catch (error) {
    // by name: the app (and its errors) may come from another bundle than this module (isRedisFailure)
    if (error instanceof Error && error.name === 'RateLimitInputError') return { ok: false, message: error.message };
    if (isRedisFailure(error)) return { ok: false, message: 'Redis did not answer, so the action may not have been applied: reload the page to check, and try again.' };
    throw error;
  }
}
