// Deny-cache hits reach the anomaly counters off the request path: the deny cache hands them over
// on its timer (or as their entry goes), and a peek carries them to the store.
import type { LimiterContext } from './context';

/**
 * Deny-cache hits handed over by its timer (or as their entry goes): a peek carries them to the
 * anomaly counters, stamped with the last hit's time (the store's clock when that is the clock).
 */
export function createHitReporter(ctx: LimiterContext) {
  return async function reportHits(planName: string, id: string, costs: readonly number[], hits: number, lastHitAt: number): Promise<void> {
    const rules = ctx.anomalyRules.get(planName);
    const plan = ctx.policy.plans.get(planName);
    if (!rules || !plan) return;
    const started = performance.now();
    try {
      const anomaly = { rules, cost: 0, pendingDenied: hits };
      const now = ctx.settings.clock === 'store' ? undefined : lastHitAt;
      const request = { identifier: id, limits: plan.limits, costs, mode: 'peek' as const, now, reservationTtlMs: ctx.settings.reservationTtlMs, stateTtlMs: ctx.stateTtlMs, anomaly };
      const output = await ctx.store.evaluate({ ...request, deadline: started + ctx.budgetMs });
      if (output.anomalies.length > 0) ctx.anomalies.raise(id, planName, rules, output.anomalies, output.now);
    } catch (error) {
      ctx.report.storeError('anomaly', error, started);
    }
  };
}
