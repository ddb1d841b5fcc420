// Everything the creator page shows, assembled from the engine's inspection API and the creator
// directory (the base plan): the plan and where it came from, every limit, the monthly budget
// against its quota, recent denials, outstanding reservations and the admins' recent actions.
import 'server-only';

import { AI_PLANS, type CreatorPlan, isPlan, MONTHLY_QUOTA_USD, quotaWarning, SPEND_LIMIT } from '@airl/creators';
import type { Limiters } from '@airl/creators/limiters';
import type { Anomaly } from '@airl/ratelimit';
import type { AuditEntry, IdentifierView, RateLimitAdmin } from '@airl/ratelimit/admin';

/**
 * The plans' own limits. The limiter's plans also list each creator's share of the AI provider's
 * shared budget and the budget itself: the platform's, shown and changed on the Plans page.
 */
const OWN_LIMITS = new Set(Object.values(AI_PLANS).flatMap((p) => p.limits.map((l) => l.name)));

export interface LimitRow {
  readonly name: string;
  readonly unit: string;
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
  /** When capacity next returns (store clock, epoch ms). */
  readonly resetAt: number;
}

export interface SpendSummary {
  /** The plan's monthly quota in USD; null is unlimited (business). */
  readonly quotaUsd: number | null;
  readonly spentCents: number;
  readonly remainingCents: number | null;
  readonly percentUsed: number;
  /** The legacy warnings: from 80% and from 95% of the quota. */
  readonly warning: 'warning' | 'critical' | null;
  /** The budget renews at the start of the next calendar month (UTC). */
  readonly renewsAt: number;
}

export interface CreatorView {
  readonly id: string;
  /** Known to the creator directory; when not, `basePlan` is the one asked for. */
  readonly known: boolean;
  readonly name: string | undefined;
  readonly basePlan: CreatorPlan;
  /** The plan that applies now. */
  readonly plan: CreatorPlan;
  readonly planSource: IdentifierView['planSource'];
  /** The plan override in force: plan, until, by, reason. */
  readonly override: IdentifierView['override'];
  /** The block in force: until, by (an admin or the anomaly detector), reason. */
  readonly block: IdentifierView['block'];
  /** Request and token limits (the budget is in `spend`). */
  readonly limits: readonly LimitRow[];
  readonly spend: SpendSummary;
  /** Newest first. */
  readonly denials: IdentifierView['denials'];
  readonly reservations: IdentifierView['reservations'];
  /** The latest admin actions on this creator, newest first. */
  readonly audit: readonly AuditEntry[];
  /** The latest anomalies of this creator, newest first. */
  readonly anomalies: readonly Anomaly[];
  /** Store clock, epoch ms. */
  readonly now: number;
}

/** How many of the creator's own audit entries and anomalies are shown. */
const HISTORY = 10;

/**
 * The view of one creator. `plan` is used only for an id the directory does not know (default
 * starter): usage is then shown under that plan.
 */
export async function creatorView(app: { admin: RateLimitAdmin; limiters: Pick<Limiters, 'directory'> }, id: string, options: { plan?: CreatorPlan } = {}): Promise<CreatorView> {
  const creator = await app.limiters.directory.get(id);
  const basePlan = creator?.plan ?? options.plan ?? 'starter';
  const [view, audit, anomalies] = await Promise.all([
    app.admin.inspect(id, { plan: basePlan }),
    app.admin.audit({ identifier: id, count: HISTORY }),
    app.admin.anomalies({ identifier: id, count: HISTORY }),
  ]);
  const plan = isPlan(view.plan) ? view.plan : basePlan;
  const budget = view.limits.find((l) => l.name === SPEND_LIMIT);
  const quotaUsd = MONTHLY_QUOTA_USD[plan];
  const spentCents = budget?.used ?? 0;
  // past 100% when a call settled above the budget (the work was done): what is recorded
  const percentUsed = quotaUsd === null || !budget ? 0 : Math.round((spentCents / budget.limit) * 1000) / 10;
  const now = new Date(view.now);
  return {
    id,
    known: creator !== undefined,
    name: creator?.name,
    basePlan,
    plan,
    planSource: view.planSource,
    override: view.override,
    block: view.block,
    limits: view.limits
      .filter((l) => l.name !== SPEND_LIMIT && OWN_LIMITS.has(l.name))
      .map((l) => ({ name: l.name, unit: l.unit, limit: l.limit, used: l.used, remaining: l.remaining, resetAt: l.resetAt })),
    spend: {
      quotaUsd,
      spentCents,
      remainingCents: quotaUsd === null ? null : (budget?.remaining ?? 0),
      percentUsed,
      warning: quotaUsd === null ? null : quotaWarning(percentUsed),
      renewsAt: Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1),
    },
    denials: [...view.denials].reverse(),
    reservations: view.reservations,
    audit,
    anomalies: anomalies.map((a) => a.anomaly),
    now: view.now,
  };
}

/** The limits an admin can reset for a creator on a plan: each by name, or all. */
export function resettableLimits(limiters: Pick<Limiters, 'limiter'>, plan: CreatorPlan): string[] {
  return (limiters.limiter.plans.get(plan)?.limits ?? []).map((l) => l.name).filter((name) => OWN_LIMITS.has(name));
}

/** Every plan's rate limits: all limits but the monthly spend, which is reset only on purpose. */
export function rateLimitNames(limiters: Pick<Limiters, 'limiter'>): string[] {
  const names = new Set<string>();
  for (const plan of limiters.limiter.plans.values()) for (const l of plan.limits) if (l.name !== SPEND_LIMIT && OWN_LIMITS.has(l.name)) names.add(l.name);
  return [...names];
}
