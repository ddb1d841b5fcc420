// The plans creators buy, as data both apps read: the AI rate limits, the monthly AI budget, and
// how the old platform mapped a subscription to a plan.
import type { LimitConfig, PlanConfig, SharedBudgetsConfig } from '@airl/ratelimit';

export const PLANS = ['starter', 'pro', 'business'] as const;
/** A creator's plan (the legacy `CreatorPlan`). */
export type CreatorPlan = (typeof PLANS)[number];

export const isPlan = (value: unknown): value is CreatorPlan => typeof value === 'string' && (PLANS as readonly string[]).includes(value);

/** The legacy monthly AI budget in USD; null is unlimited. */
export const MONTHLY_QUOTA_USD: Readonly<Record<CreatorPlan, number | null>> = { starter: 10, pro: 50, business: null };

/** The name of the monthly budget's limit: denials by it are the legacy QUOTA_EXCEEDED. */
export const SPEND_LIMIT = 'monthly-spend';

/** "Unlimited" (business) still counts what is spent, so the page can show it: $10M, never reached. */
export const UNLIMITED_CENTS = 1_000_000_000;

/** The monthly budget as a limit: cents over the calendar month (UTC). */
function monthlySpend(plan: CreatorPlan): LimitConfig {
  const usd = MONTHLY_QUOTA_USD[plan];
  return { name: SPEND_LIMIT, limit: usd === null ? UNLIMITED_CENTS : usd * 100, window: 'month', algorithm: 'fixed-window', unit: 'cents' };
}

/** Per plan: calls per minute (`burst`), calls per sliding hour (`hourly`, the legacy limit), tokens per day. */
const SIZES: Readonly<Record<CreatorPlan, { burst: number; hourly: number; tokens: number }>> = {
  starter: { burst: 5, hourly: 50, tokens: 20_000 },
  pro: { burst: 20, hourly: 100, tokens: 200_000 },
  business: { burst: 60, hourly: 500, tokens: 2_000_000 },
};

/**
 * Everything an AI call is checked against, in one atomic step: `burst` stops a script from
 * spending the hour in seconds; `hourly` is the legacy limit (50 / 100 / 500 per sliding hour);
 * `tokens` caps model usage per day; `monthly-spend` is the legacy monthly budget in cents.
 * A call costs `{ tokens, cents }` (and one request).
 */
export const AI_PLANS: Readonly<Record<CreatorPlan, PlanConfig>> = { starter: tier('starter'), pro: tier('pro'), business: tier('business') };

function tier(plan: CreatorPlan): PlanConfig {
  const size = SIZES[plan];
  return {
    limits: [
      { name: 'burst', limit: size.burst, window: '1 m' },
      { name: 'hourly', limit: size.hourly, window: '1 h' },
      { name: 'tokens', limit: size.tokens, window: '1 d', unit: 'tokens', algorithm: 'sliding-window' },
      monthlySpend(plan),
    ],
  };
}

/** The AI provider's budget: its limit names (they name it in a denial's `deniedBy`). */
export const PROVIDER_BUDGET = 'provider';
export const PROVIDER_LIMITS = { requests: 'provider-requests', tokens: 'provider-tokens' } as const;

/**
 * The platform's account at its AI provider: requests and tokens per minute, shared by every
 * creator and every app instance, charged with each AI call together with the creator's plan
 * (all or nothing). No creator may take more than a tenth of either (the fair share, named
 * `provider-requests-share` and `provider-tokens-share`), so one heavy creator cannot starve the
 * others. Sliding-window counters: the hottest key of the deployment stays one small hash.
 * Admins change the sizes live on the admin app's Plans page, like the plans'.
 */
export const AI_SHARED: SharedBudgetsConfig = {
  [PROVIDER_BUDGET]: {
    limits: [
      { name: PROVIDER_LIMITS.requests, limit: 3000, window: '1 m', algorithm: 'sliding-window' },
      { name: PROVIDER_LIMITS.tokens, limit: 1_000_000, window: '1 m', unit: 'tokens', algorithm: 'sliding-window' },
    ],
    maxShare: 0.1,
  },
};

/**
 * How long an AI call's reservation (its estimated tokens and cents) waits for the settle. The
 * web app refuses to start unless its model-call deadline plus a margin fits in it: a call must
 * be settled or refunded before its reservation expires, or its estimate stays charged.
 */
export const AI_RESERVATION_TTL_MS = 10 * 60_000;

/** Fractions of the budget at which creators are warned (legacy: 80% and 95%). */
export const QUOTA_WARNING_LEVELS = [0.8, 0.95] as const;

/** `'critical'` from 95%, `'warning'` from 80%, else null. */
export function quotaWarning(percentUsed: number): 'warning' | 'critical' | null {
  if (percentUsed >= QUOTA_WARNING_LEVELS[1] * 100) return 'critical';
  if (percentUsed >= QUOTA_WARNING_LEVELS[0] * 100) return 'warning';
  return null;
}

/** Prices of a model in cents per million tokens. */
export interface ModelPricing {
  inputCentsPerMillion: number;
  outputCentsPerMillion: number;
}

/** Default prices (a mid-range hosted model): $2.50 in, $10 out per million tokens. */
export const DEFAULT_PRICING: ModelPricing = { inputCentsPerMillion: 250, outputCentsPerMillion: 1000 };

/** What a call cost, in whole cents, rounded up: at least 1 cent so that every call counts. */
export function costInCents(usage: { inputTokens: number; outputTokens: number }, pricing: ModelPricing = DEFAULT_PRICING): number {
  const cents = (usage.inputTokens * pricing.inputCentsPerMillion + usage.outputTokens * pricing.outputCentsPerMillion) / 1_000_000;
  return Math.max(1, Math.ceil(cents));
}

/**
 * The legacy mapping: a subscription tier containing pro/premium is pro, business/enterprise is
 * business; otherwise the creator's `ai_plan` field; otherwise starter.
 */
export function planFromSubscription(tier: string | null | undefined, aiPlan?: string | null): CreatorPlan {
  const t = (tier ?? '').toLowerCase();
  if (/business|enterprise/.test(t)) return 'business';
  if (/pro|premium/.test(t)) return 'pro';
  return isPlan(aiPlan) ? aiPlan : 'starter';
}
