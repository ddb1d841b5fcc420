// The AI features of the creator app, each protected by one limiter checking the plan's burst,
// hourly requests, daily tokens and monthly budget (cents) in one atomic step: tokens and cents
// are reserved before the model runs and settled with its real usage. Plus `quota`: where the
// creator stands, without charging.
import { costInCents, type CreatorPlan, MONTHLY_QUOTA_USD, quotaWarning, SPEND_LIMIT } from '@airl/creators';
import { formatWait, rateLimited } from '@airl/ratelimit/trpc';
import { z } from 'zod';

import { type AiResult, estimateTokens, type Feature } from '../ai/provider';
import { type Context, creatorProcedure, router } from './init';

const MAX_OUTPUT_TOKENS = 400;

/** What each feature asks the model, from its input. */
const PROMPTS = {
  'fan-reply': {
    input: z.object({ fanMessage: z.string().trim().min(1).max(2000), tone: z.enum(['friendly', 'flirty', 'professional']).default('friendly') }),
    build: (i: { fanMessage: string; tone: string }) => ({
      system: `You are a creator replying to a fan in a ${i.tone} tone. Keep it short and personal.`,
      prompt: i.fanMessage,
    }),
  },
  caption: {
    input: z.object({ description: z.string().trim().min(1).max(2000), platform: z.enum(['instagram', 'tiktok', 'x']).default('instagram') }),
    build: (i: { description: string; platform: string }) => ({
      system: `Write a catchy ${i.platform} caption with two hashtags for the post described.`,
      prompt: i.description,
    }),
  },
  'performance-analysis': {
    input: z.object({ metrics: z.string().trim().min(1).max(4000), period: z.enum(['week', 'month', 'quarter']).default('month') }),
    build: (i: { metrics: string; period: string }) => ({
      system: `Analyse this creator's performance over the last ${i.period} and give three concrete recommendations.`,
      prompt: i.metrics,
    }),
  },
  'sales-optimization': {
    input: z.object({ catalog: z.string().trim().min(1).max(4000), goal: z.enum(['revenue', 'subscribers', 'retention']).default('revenue') }),
    build: (i: { catalog: string; goal: string }) => ({
      system: `Suggest three ways to improve ${i.goal} from this creator's catalogue and sales.`,
      prompt: i.catalog,
    }),
  },
} as const;

/** What an AI procedure answers. */
export interface AiAnswer extends AiResult {
  readonly costCents: number;
}

const planOf = ({ ctx }: { ctx: Context }): CreatorPlan => ctx.creator!.plan;
const promptOf = (feature: Feature, input: unknown) => (PROMPTS[feature].build as (i: unknown) => { system: string; prompt: string })(input);
const answerOf = (output: unknown) => output as AiAnswer;

function renewsOn(resetAt: number) {
  return new Date(resetAt).toLocaleDateString('en-US', { month: 'long', day: 'numeric', timeZone: 'UTC' });
}

/** Tokens and cents: reserve the most the call can use, settle with what the model reported. */
const aiLimit = rateLimited<Context, CreatorPlan>({
  limiter: (ctx) => ctx.app.limiters.limiter,
  group: 'ai',
  plan: planOf,
  reserve: {
    estimate: ({ ctx, input, path }) => {
      const p = promptOf(featureOf(path), input);
      const inputTokens = estimateTokens(p.system) + estimateTokens(p.prompt);
      return { tokens: inputTokens + MAX_OUTPUT_TOKENS, cents: costInCents({ inputTokens, outputTokens: MAX_OUTPUT_TOKENS }, ctx.app.config.pricing) };
    },
    actual: ({ output }) => ({ tokens: answerOf(output).usage.totalTokens, cents: answerOf(output).costCents }),
  },
  // the used-up monthly budget is the legacy QUOTA_EXCEEDED: not worth retrying before the month ends
  reason: (r) => (r.deniedBy === SPEND_LIMIT ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED'),
  retryable: (r) => r.deniedBy !== SPEND_LIMIT,
  message: (r) => {
    if (r.deniedBy === SPEND_LIMIT) return `QUOTA_EXCEEDED: your monthly AI budget of $${(r.limit / 100).toFixed(2)} is used up. It renews on ${renewsOn(r.now + r.retryAfterMs)}.`;
    if (r.deniedBy === 'tokens') return `Daily AI token limit reached: try again in ${formatWait(r.retryAfterMs)}.`;
    return `You have reached your ${r.deniedBy === 'burst' ? 'per-minute' : 'hourly'} limit of ${r.limit} AI requests: try again in ${formatWait(r.retryAfterMs)}.`;
  },
});

const FEATURE_BY_PROCEDURE = {
  fanReply: 'fan-reply',
  caption: 'caption',
  performanceAnalysis: 'performance-analysis',
  salesOptimization: 'sales-optimization',
} as const satisfies Record<string, Feature>;

function featureOf(path: string): Feature {
  const name = path.split('.').at(-1) as keyof typeof FEATURE_BY_PROCEDURE;
  return FEATURE_BY_PROCEDURE[name];
}

function aiProcedure<F extends Feature>(feature: F) {
  return creatorProcedure
    .input(PROMPTS[feature].input)
    .use(aiLimit)
    .mutation(async ({ ctx, input, signal }): Promise<AiAnswer> => {
      const prompt = promptOf(feature, input);
      const result = await ctx.app.provider.generate({ feature, ...prompt, maxOutputTokens: MAX_OUTPUT_TOKENS, signal });
      return { ...result, costCents: costInCents(result.usage, ctx.app.config.pricing) };
    });
}

export const appRouter = router({
  ai: router({
    fanReply: aiProcedure('fan-reply'),
    caption: aiProcedure('caption'),
    performanceAnalysis: aiProcedure('performance-analysis'),
    salesOptimization: aiProcedure('sales-optimization'),
    /** Where the creator stands on every limit and the monthly budget; charges nothing. */
    quota: creatorProcedure.query(async ({ ctx }) => {
      const status = await ctx.app.limiters.limiter.peek(ctx.creator.id, { plan: ctx.creator.plan });
      // an admin's override applies: show the plan that counts
      const plan = status.plan as CreatorPlan;
      const budget = status.limits.find((l) => l.name === SPEND_LIMIT)!;
      const quotaUsd = MONTHLY_QUOTA_USD[plan];
      const spentCents = budget.limit - budget.remaining;
      const percentUsed = quotaUsd === null ? 0 : Math.min(100, Math.round((spentCents / budget.limit) * 1000) / 10);
      return {
        creator: { id: ctx.creator.id, name: ctx.creator.name },
        plan,
        storage: ctx.app.limiters.storage,
        /**
         * Set while Redis is unreachable: the limits are applied by each plan's failure policy on
         * this server, and the plan may be the last known or the degraded one.
         */
        degraded: status.degraded !== undefined || ctx.creator.planSource !== 'directory',
        provider: ctx.app.provider.kind,
        now: status.now,
        limits: status.limits
          .filter((l) => l.name !== SPEND_LIMIT)
          .map((l) => ({ name: l.name, unit: l.unit, limit: l.limit, remaining: l.remaining, used: l.limit - l.remaining, resetAt: l.resetAt })),
        // the legacy /api/ai/quota shape, in USD, plus what the page needs
        spend: {
          plan,
          limit: quotaUsd,
          spent: spentCents / 100,
          remaining: quotaUsd === null ? null : budget.remaining / 100,
          percentUsed,
          unlimited: quotaUsd === null,
          warning: quotaUsd === null ? null : quotaWarning(percentUsed),
          /** The budget renews at the start of the next calendar month (UTC). */
          renewsAt: Date.UTC(new Date(status.now).getUTCFullYear(), new Date(status.now).getUTCMonth() + 1, 1),
        },
      };
    }),
  }),
});

export type AppRouter = typeof appRouter;
