// The shared budgets' use now (the AI provider's requests and tokens per minute, shared by every
// creator): what the Plans page shows and polls. One read per budget, charging nothing.
import 'server-only';

import type { AdminApp } from './app';

/** One limit of a shared budget: used / limit in its unit. */
export interface BudgetLimitUse {
  readonly name: string;
  readonly unit: string;
  readonly used: number;
  readonly limit: number;
  /** Epoch ms (store clock): when the window frees what it holds. */
  readonly resetAt: number;
}

export interface BudgetUse {
  readonly name: string;
  readonly maxShare: number;
  readonly limits: readonly BudgetLimitUse[];
}

/** Every shared budget's use; `now` is the store clock. */
export async function sharedBudgetUse(app: AdminApp): Promise<{ budgets: BudgetUse[]; now: number }> {
  const budgets = await app.admin.sharedBudgets();
  return {
    budgets: budgets.map((b) => ({ name: b.name, maxShare: b.maxShare, limits: b.limits.map((l) => ({ name: l.name, unit: l.unit, used: l.used, limit: l.limit, resetAt: l.resetAt })) })),
    now: budgets[0]?.now ?? Date.now(),
  };
}
