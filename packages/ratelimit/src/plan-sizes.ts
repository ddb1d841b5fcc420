// Live plans' stored sizes: what an admin may change (limit, maxShare), how it is validated
// against the code's plans and shared budgets, and how the stored document is read back. Used by
// src/live-plans.ts (the limiter that follows them and the plan editor).
import { z } from 'zod';

import { RateLimitConfigError } from './errors';
import { compilePolicy, type PlanConfig } from './policy';
import { planShares } from './shared-config';
import type { SharedBudgetsConfig } from './shared-types';

/** The name live plans are stored and announced under. */
export const LIVE_PLANS = '~plans';

/** New sizes over the code's plans: only what is named changes. */
export interface PlanSizes {
  /** By plan, by limit name: the new `limit`. */
  readonly plans?: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** By shared budget: new sizes of its limits (by name), and a new `maxShare`. */
  readonly shared?: Readonly<Record<string, { readonly limits?: Readonly<Record<string, number>>; readonly maxShare?: number }>>;
}

/** What is stored: the sizes in force, who set them, when, why. */
export interface LivePlans {
  /** The sizes set (sizes not named are the code's). */
  readonly sizes: PlanSizes;
  /** The admin who set them. */
  readonly by: string;
  /** Epoch ms. */
  readonly at: number;
  /** Why, as the admin gave it. */
  readonly reason: string | undefined;
}

const size = z.number().int({ message: 'must be a whole number' }).positive({ message: 'must be > 0' }).max(Number.MAX_SAFE_INTEGER);
const sizesSchema = z.strictObject({
  plans: z.record(z.string(), z.record(z.string(), size)).optional(),
  shared: z
    .record(z.string(), z.strictObject({ limits: z.record(z.string(), size).optional(), maxShare: z.number().gt(0, { message: 'must be > 0' }).max(1, { message: 'must be <= 1' }).optional() }))
    .optional(),
});
const storedSchema = z.object({ sizes: sizesSchema, by: z.string(), at: z.number(), reason: z.string().optional() });

/**
 * The code's plans and budgets with new sizes applied, validated like code-defined plans.
 * Throws {@link RateLimitConfigError} naming each problem; changes nothing.
 */
export function applySizes(
  plans: Readonly<Record<string, PlanConfig>>,
  shared: SharedBudgetsConfig | undefined,
  input: unknown,
): { plans: Record<string, PlanConfig>; shared: SharedBudgetsConfig | undefined } {
  const parsed = sizesSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || 'sizes'}: ${i.message}`);
    throw new RateLimitConfigError(`invalid plan sizes: ${issues.join('; ')}`, issues);
  }
  const sizes = parsed.data;
  const issues: string[] = [];
  const nextPlans: Record<string, PlanConfig> = {};
  for (const [name, plan] of Object.entries(plans)) nextPlans[name] = { ...plan, limits: plan.limits.map((l) => ({ ...l })) };
  for (const [planName, limits] of Object.entries(sizes.plans ?? {})) {
    const plan = nextPlans[planName];
    if (!plan) {
      issues.push(`plans.${planName}: no such plan; the plans are: ${Object.keys(plans).join(', ')}`);
      continue;
    }
    for (const [limitName, limit] of Object.entries(limits)) {
      const target = plan.limits.find((l) => l.name === limitName);
      if (!target) issues.push(`plans.${planName}.${limitName}: plan '${planName}' has no such limit; its limits are: ${plan.limits.map((l) => l.name).join(', ')}`);
      else (target as { limit: number }).limit = limit;
    }
  }
  let nextShared: Record<string, SharedBudgetsConfig[string]> | undefined = shared && Object.fromEntries(Object.entries(shared).map(([n, b]) => [n, { ...b, limits: b.limits.map((l) => ({ ...l })) }]));
  for (const [budgetName, change] of Object.entries(sizes.shared ?? {})) {
    const budget = nextShared?.[budgetName];
    if (!budget) {
      issues.push(`shared.${budgetName}: no such shared budget${shared ? `; the budgets are: ${Object.keys(shared).join(', ')}` : ''}`);
      continue;
    }
    for (const [limitName, limit] of Object.entries(change.limits ?? {})) {
      const target = budget.limits.find((l) => l.name === limitName);
      if (!target) issues.push(`shared.${budgetName}.${limitName}: budget '${budgetName}' has no such limit; its limits are: ${budget.limits.map((l) => l.name).join(', ')}`);
      else (target as { limit: number }).limit = limit;
    }
    if (change.maxShare !== undefined) nextShared = { ...nextShared, [budgetName]: { ...budget, maxShare: change.maxShare } };
  }
  if (issues.length > 0) throw new RateLimitConfigError(`invalid plan sizes: ${issues.join('; ')}`, issues);
  // the same validation as the code's plans (sizes too large for a sliding-window counter, ...)
  compilePolicy(nextPlans);
  if (nextShared) planShares(nextPlans, nextShared);
  return { plans: nextPlans, shared: nextShared };
}

/** The stored document read back: undefined when there is none or it does not parse. */
export function parseStored(json: string | undefined): LivePlans | undefined {
  if (json === undefined) return undefined;
  try {
    const parsed = storedSchema.safeParse(JSON.parse(json));
    return parsed.success ? { ...parsed.data, reason: parsed.data.reason } : undefined;
  } catch {
    return undefined;
  }
}
