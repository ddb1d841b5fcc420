// Shared budgets' configuration: validated against the plans, and each plan given its per-creator
// share of every budget it is charged against (a limit '<name>-share' of maxShare x the budget's
// size). Used by src/shared.ts (the composed limiter) and src/plan-sizes.ts (live sizes).
import { z } from 'zod';

import { RateLimitConfigError } from './errors';
import { compilePolicy, type LimitConfig, type PlanConfig } from './policy';

const budgetSchema = z.object({
  limits: z.array(z.unknown()).min(1, { message: 'a shared budget needs at least one limit' }),
  maxShare: z.number().gt(0, { message: 'must be > 0' }).max(1, { message: 'must be <= 1 (a fraction of the budget)' }).optional(),
  plans: z.array(z.string()).optional(),
});
const sharedSchema = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, { message: 'use 1 to 64 letters, digits, - or _' }), budgetSchema);

function fail(issues: string[]): never {
  throw new RateLimitConfigError(`invalid shared budgets: ${issues.join('; ')}`, issues);
}

/** Validates shared budgets against the plans; returns the plans with their shares added. */
export function planShares(plans: Readonly<Record<string, PlanConfig>>, input: unknown): { plans: Record<string, PlanConfig>; budgets: Map<string, { limits: readonly LimitConfig[]; plans: Set<string>; maxShare: number }> } {
  const parsed = sharedSchema.safeParse(input);
  if (!parsed.success) fail(parsed.error.issues.map((i) => `shared.${i.path.map(String).join('.')}: ${i.message}`));
  const issues: string[] = [];
  const out: Record<string, PlanConfig> = Object.fromEntries(Object.entries(plans).map(([n, p]) => [n, { ...p, limits: [...p.limits] }]));
  const planLimitNames = new Set(Object.values(plans).flatMap((p) => p.limits.map((l) => l.name)));
  const budgets = new Map<string, { limits: readonly LimitConfig[]; plans: Set<string>; maxShare: number }>();
  for (const [name, budget] of Object.entries(parsed.data)) {
    try {
      compilePolicy({ [name]: { limits: budget.limits } });
    } catch (error) {
      issues.push(...(error as RateLimitConfigError).issues.map((i) => i.replace(/^(invalid plans: )?plans\./, 'shared.')));
      continue;
    }
    const limits = budget.limits as LimitConfig[];
    for (const l of limits) {
      if (planLimitNames.has(l.name) || planLimitNames.has(`${l.name}-share`)) {
        issues.push(`shared.${name}: limit '${l.name}' is also a plan's limit name; give the budget's limits their own names (for example 'provider-${l.name}')`);
      }
    }
    const charged = budget.plans ?? Object.keys(plans);
    const unknown = charged.filter((p) => !(p in plans));
    if (unknown.length > 0) issues.push(`shared.${name}.plans: unknown plan(s) ${unknown.join(', ')}; the plans are: ${Object.keys(plans).join(', ')}`);
    const share = budget.maxShare ?? 1;
    for (const plan of charged.filter((p) => p in plans)) {
      if (share < 1) {
        for (const l of limits) {
          out[plan]!.limits = [...out[plan]!.limits, { ...l, name: `${l.name}-share`, limit: Math.max(1, Math.floor(share * l.limit)) }];
        }
      }
    }
    budgets.set(name, { limits, plans: new Set(charged), maxShare: share });
  }
  if (issues.length > 0) fail(issues);
  return { plans: out, budgets };
}
