// settle() and refund(): replace a reservation's estimate with the real cost (0 refunds), in the
// store, or in the fallback when the fallback made it. The usage boards get the difference.
import { settleAnomaly } from '../anomaly/counting';
import type { CompiledPlan } from '../policy';
import type { LimiterContext } from './context';
import type { Cost, SettleResult } from './types';

/** New cost by limit name, for a plan. */
export type SettleCosts = (plan: CompiledPlan) => Map<string, number>;

export function createSettle(ctx: LimiterContext) {
  const { store, breakers, report } = ctx;

  return async function settleWith(reservation: unknown, costs: SettleCosts, refund: boolean, cost?: Cost): Promise<SettleResult> {
    const r = ctx.input.reservation(reservation);
    const started = performance.now();
    const plan = ctx.input.plan(r.plan);
    const byName = costs(plan);
    const identifier = ctx.input.identifier(r.identifier);
    ctx.denyCache?.drop(identifier);
    // the fallback made it while the store was down
    if (r.id.startsWith('f:')) return ctx.fallback.settle({ ...r, id: r.id.slice(2) }, cost, refund);
    const ticket = breakers.enter(store.shardOf?.(identifier) ?? '');
    if (!ticket) return { status: 'store-unavailable' };
    const deadline = started + ctx.budgetMs;
    try {
      const now = await ctx.presence.stamp(deadline);
      // the difference from the estimate counts in the cost-spike rule, as a check's cost would
      const watched = ctx.anomalyRules.get(plan.name);
      const anomaly = settleAnomaly(watched, r.cost, byName, plan.limits);
      const request = { identifier, reservationId: r.id, expiresAt: r.expiresAt, limits: plan.limits, costs: byName, now, stateTtlMs: ctx.stateTtlMs, anomaly, deadline };
      const { status, now: at, anomalies } = await store.settle(request);
      breakers.succeeded(ticket);
      if (watched && anomalies && anomalies.length > 0) ctx.anomalies.raise(identifier, plan.name, watched, anomalies, at);
      if (status === 'settled' && ctx.usage) {
        // boards count what was really used: add the difference from the estimate
        const reserved = (r.cost as Partial<typeof r.cost> | undefined) ?? {};
        const delta = new Map<string, number>();
        for (const l of plan.limits) {
          const next = byName.get(l.name);
          if (next !== undefined) delta.set(l.unit, next - (reserved[l.unit] ?? 0));
        }
        ctx.usage.add(identifier, delta, at);
      }
      return { status };
    } catch (error) {
      breakers.failed(ticket, report.storeError('settle', error, started).message);
      return { status: 'store-unavailable' };
    }
  };
}
