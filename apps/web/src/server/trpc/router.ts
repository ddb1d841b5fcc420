// The AI features of the creator app, each protected by one limiter checking the plan's burst,
// hourly requests, daily tokens and monthly budget (cents) in one atomic step: tokens and cents
// are reserved before the model runs and settled with its real usage. Plus `quota`: where the
// creator stands, without charging.
import 'server-only';

import { AI_PLANS, type CreatorPlan, type DirectoryCreator, fullBy, isPlan, MONTHLY_QUOTA_USD, quotaWarning, SPEND_LIMIT } from '@airl/creators';
import type { Cost } from '@airl/ratelimit';
import { formatWait, type RateLimitState, rateLimited } from '@airl/ratelimit/trpc';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { z } from 'zod';

import { type AiFailure, AiCallError, callModel, chargeFor, estimateOf, failureMessage, logLine, newReference } from '../ai/call';
import { type Feature, promptTokens, type TokenUsage } from '../ai/provider';
import { MAX_INPUT_CHARS } from '../../lib/input-limits';
import { platformLimitText } from '../../lib/platform-limit';
import { type Context, creatorProcedure, middleware, router } from './init';

const MAX_OUTPUT_TOKENS = 400;

/** A feature's text, with messages a creator can act on (the error formatter shows them as they are). */
function promptText(max: number) {
  return z
    .string()
    .trim()
    .min(1, 'Write something first: the text is empty.')
    .max(max, `The text is too long: at most ${max.toLocaleString('en-US')} characters. Shorten it and try again.`);
}

/** What a feature asks the model. */
interface Prompt {
  readonly system: string;
  readonly prompt: string;
}

/**
 * A feature's input schema and its prompt. Middlewares see the input as `unknown`: `prompt`
 * parses it again (already trimmed and defaulted by `.input()`, so the same value) to type it.
 */
function defineFeature<S extends z.ZodType>(name: Feature, input: S, build: (i: z.output<S>) => Prompt): FeatureSpec<S> {
  return { name, input, prompt: (parsed) => build(input.parse(parsed)) };
}

interface FeatureSpec<S extends z.ZodType> {
  readonly name: Feature;
  readonly input: S;
  readonly prompt: (parsed: unknown) => Prompt;
}

/** What each feature asks the model, from its input. */
const FEATURES = {
  'fan-reply': defineFeature('fan-reply', z.object({ fanMessage: promptText(MAX_INPUT_CHARS['fan-reply']), tone: z.enum(['friendly', 'flirty', 'professional']).default('friendly') }), (i) => ({
    system: `You are a creator replying to a fan in a ${i.tone} tone. Keep it short and personal.`,
    prompt: i.fanMessage,
  })),
  caption: defineFeature('caption', z.object({ description: promptText(MAX_INPUT_CHARS.caption), platform: z.enum(['instagram', 'tiktok', 'x']).default('instagram') }), (i) => ({
    system: `Write a catchy ${i.platform} caption with two hashtags for the post described.`,
    prompt: i.description,
  })),
  'performance-analysis': defineFeature('performance-analysis', z.object({ metrics: promptText(MAX_INPUT_CHARS['performance-analysis']), period: z.enum(['week', 'month', 'quarter']).default('month') }), (i) => ({
    system: `Analyse this creator's performance over the last ${i.period} and give three concrete recommendations.`,
    prompt: i.metrics,
  })),
  'sales-optimization': defineFeature('sales-optimization', z.object({ catalog: promptText(MAX_INPUT_CHARS['sales-optimization']), goal: z.enum(['revenue', 'subscribers', 'retention']).default('revenue') }), (i) => ({
    system: `Suggest three ways to improve ${i.goal} from this creator's catalogue and sales.`,
    prompt: i.catalog,
  })),
} satisfies Record<Feature, FeatureSpec<z.ZodType>>;

/** What an AI procedure answers: `usage` and `costCents` are what was charged. */
export interface AiAnswer {
  readonly text: string;
  readonly model: string;
  readonly usage: TokenUsage;
  readonly costCents: number;
  /** The provider's usage was missing or invalid: the reserved estimate was charged. */
  readonly usageEstimated: boolean;
}

/** What the AI procedures' middlewares and handler see: the creator and the prompt of the call. */
type AiContext = Context & { readonly creator: DirectoryCreator; readonly prompt: Prompt };

const estimateFor = (ctx: Context, p: Prompt) => estimateOf(promptTokens(p.system, p.prompt), MAX_OUTPUT_TOKENS, ctx.app.config.pricing);

function renewsOn(resetAt: number) {
  return new Date(resetAt).toLocaleDateString('en-US', { month: 'long', day: 'numeric', timeZone: 'UTC' });
}

/**
 * Tokens and cents: reserve the most the call can use; the procedure settles with what the model
 * reported (checked), or with no tokens and no cents when the call failed.
 */
const aiLimit = rateLimited<AiContext, CreatorPlan>({
  limiter: (ctx) => ctx.app.limiters.limiter,
  group: 'ai',
  plan: ({ ctx }) => ctx.creator.plan,
  reserve: {
    estimate: ({ ctx }) => {
      const e = estimateFor(ctx, ctx.prompt);
      return { tokens: e.tokens, cents: e.cents };
    },
  },
  onSettleError: (error) => logLine({ level: 'error', msg: 'AI call: reading the limits after the settle failed', error: error instanceof Error ? error.message : String(error) }),
  // the used-up monthly budget is the legacy QUOTA_EXCEEDED: not worth retrying before the month ends
  reason: (r) => (r.deniedBy === SPEND_LIMIT ? 'QUOTA_EXCEEDED' : 'RATE_LIMITED'),
  retryable: (r) => r.deniedBy !== SPEND_LIMIT,
  message: (r) => {
    if (r.sharedBudget) return `${platformLimitText({ ...r, unit: r.limits.find((l) => l.name === r.deniedBy)?.unit })} Try again in ${formatWait(r.retryAfterMs)}.`;
    if (r.deniedBy === SPEND_LIMIT) return `QUOTA_EXCEEDED: your monthly AI budget of $${(r.limit / 100).toFixed(2)} is used up. It renews on ${renewsOn(r.now + r.retryAfterMs)}.`;
    if (r.deniedBy === 'tokens') return `Daily AI token limit reached: try again in ${formatWait(r.retryAfterMs)}.`;
    return `You have reached your ${r.deniedBy === 'burst' ? 'per-minute' : 'hourly'} limit of ${r.limit} AI requests: try again in ${formatWait(r.retryAfterMs)}.`;
  },
});

/** The prompt of the feature named in the procedure's `.meta({ feature })`, built once from the input. */
const withPrompt = middleware(({ meta, input, next }) => {
  if (!meta?.feature) throw new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'an AI procedure needs .meta({ feature })' });
  return next({ ctx: { prompt: FEATURES[meta.feature].prompt(input) } });
});

const FAILURE_CODES: Record<AiFailure, TRPC_ERROR_CODE_KEY> = {
  unavailable: 'BAD_GATEWAY',
  rejected: 'UNPROCESSABLE_CONTENT',
  timeout: 'GATEWAY_TIMEOUT',
  configuration: 'INTERNAL_SERVER_ERROR',
  cancelled: 'CLIENT_CLOSED_REQUEST',
};

/** Replaces the reservation with `cost`; a settle that does not land is logged (its estimate stays charged). */
async function settle(state: RateLimitState, cost: Cost, log: Record<string, unknown>): Promise<void> {
  // no reservation: the store was down and the plan let the call through uncounted
  if (!state.reservation) return;
  try {
    const { status } = await state.settle(cost);
    if (status !== 'settled') logLine({ level: 'error', msg: `AI call: settle answered '${status}', the estimate stays charged`, ...log, cost });
  } catch (error) {
    logLine({ level: 'error', msg: 'AI call: settle failed, the estimate stays charged', ...log, cost, error: error instanceof Error ? error.message : String(error) });
  }
}

// generic in the schema, not the feature name: each procedure's input type stays its own (a
// generic name would widen `.input()` to the union of every feature's input)
function aiProcedure<S extends z.ZodType>({ name: feature, input }: FeatureSpec<S>) {
  return creatorProcedure
    .meta({ feature })
    .input(input)
    .use(withPrompt)
    .use(aiLimit)
    .mutation(async ({ ctx, signal }): Promise<AiAnswer> => {
      const { app, creator, prompt } = ctx;
      const estimate = estimateFor(ctx, prompt);
      const reference = newReference();
      const context = { reference, feature, creator: creator.id };
      const outcome = await callModel(app.provider, { feature, ...prompt, maxOutputTokens: MAX_OUTPUT_TOKENS }, {
        timeoutMs: app.config.aiTimeoutMs,
        signal,
        reference,
        context: { feature, creator: creator.id },
        secrets: app.config.ai.kind === 'openai-compatible' && app.config.ai.apiKey ? [app.config.ai.apiKey] : [],
      });
      if (!outcome.ok) {
        // tokens and cents back; the request stays counted, so a failing path stays rate limited
        await settle(ctx.rateLimit, { tokens: 0, cents: 0 }, context);
        throw new TRPCError({ code: FAILURE_CODES[outcome.failure], message: failureMessage(outcome.failure, reference), cause: new AiCallError(outcome.failure, reference) });
      }
      const charge = chargeFor(outcome.result.usage, estimate, app.config.pricing);
      if (charge.estimated) {
        const { inputTokens, outputTokens } = outcome.result.usage;
        logLine({ level: 'warn', msg: 'AI call: the provider reported invalid usage, the estimate is charged', ...context, reported: { inputTokens: String(inputTokens), outputTokens: String(outputTokens) }, charged: { tokens: estimate.tokens, cents: estimate.cents } });
      }
      await settle(ctx.rateLimit, { tokens: charge.usage.totalTokens, cents: charge.costCents }, context);
      return { text: outcome.result.text, model: outcome.result.model, usage: charge.usage, costCents: charge.costCents, usageEstimated: charge.estimated };
    });
}

export const appRouter = router({
  ai: router({
    fanReply: aiProcedure(FEATURES['fan-reply']),
    caption: aiProcedure(FEATURES.caption),
    performanceAnalysis: aiProcedure(FEATURES['performance-analysis']),
    salesOptimization: aiProcedure(FEATURES['sales-optimization']),
    /** Where the creator stands on every limit and the monthly budget; charges nothing. */
    quota: creatorProcedure.query(async ({ ctx }) => {
      const { limiter } = ctx.app.limiters;
      const status = await limiter.peek(ctx.creator.id, { plan: ctx.creator.plan });
      // the store's own view: usage as recorded, past the limit too (a call may settle above it:
      // the work was done), and the block and override in force; none while the store is down
      // (the peek then answered by the plan's failure policy)
      const view = status.degraded === undefined ? await ctx.app.inspect(ctx.creator.id, { plan: ctx.creator.plan }).catch(() => undefined) : undefined;
      // a block answers before the override is applied, and with every limit at 0: the view has
      // the block's end and reason and the plan in force
      const blocked = status.deniedBy === 'blocked';
      const block = blocked && view?.block && view.block.until > status.now ? view.block : undefined;
      const overridden = view?.planSource === 'override' && isPlan(view.plan) ? view.plan : undefined;
      // an admin's override applies: show the plan that counts
      const plan = (blocked ? (overridden ?? ctx.creator.plan) : status.plan) as CreatorPlan;
      // the plan's own limits: the provider's shared budget (and each creator's share of it) is the
      // platform's, shown in the admin app; a denial by it says so
      const compiled = limiter.plans.get(plan)!.limits.filter((l) => AI_PLANS[plan].limits.some((own) => own.name === l.name));
      const recorded = new Map(view?.limits.map((l) => [l.name, l.used]));
      const limits = compiled.map((c) => {
        const l = status.limits.find((s) => s.name === c.name)!;
        // while blocked the peek reports every limit as used up: the recorded usage is the truth
        const used = blocked ? (recorded.get(c.name) ?? 0) : Math.max(recorded.get(c.name) ?? 0, l.limit - l.remaining);
        const remaining = blocked ? Math.max(0, c.limit - used) : l.remaining;
        return { name: c.name, unit: c.unit, limit: c.limit, used, remaining, resetAt: blocked ? status.now : l.resetAt, fullBy: fullBy(c, used, status.now) };
      });
      const budget = limits.find((l) => l.name === SPEND_LIMIT)!;
      const quotaUsd = MONTHLY_QUOTA_USD[plan];
      const spentCents = budget.used;
      const percentUsed = quotaUsd === null ? 0 : Math.round((spentCents / budget.limit) * 1000) / 10;
      return {
        creator: { id: ctx.creator.id, name: ctx.creator.name },
        plan,
        /** The creator's own plan, when an admin's override applies instead. */
        basePlan: ctx.creator.plan,
        /** An admin's (or the anomaly detector's) block in force: every AI call is denied until `until`. */
        block: blocked ? { until: block?.until ?? status.now + status.retryAfterMs, reason: block?.reason ?? null } : null,
        storage: ctx.app.limiters.storage,
        /**
         * Set while Redis is unreachable: the limits are applied by each plan's failure policy on
         * this server, and the plan may be the last known or the degraded one.
         */
        degraded: status.degraded !== undefined || ctx.creator.planSource !== 'directory',
        provider: ctx.app.provider.kind,
        now: status.now,
        limits: limits.filter((l) => l.name !== SPEND_LIMIT),
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
