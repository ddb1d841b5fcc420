/// <reference types="@airl/vitest-config/provided" />
// A real @trpc/client over HTTP against the running app (production build, real Redis): status
// codes, rate limit headers, typed error data, batches, identity, the budget and /api/test-redis.
import type { CreatorPlan } from '@airl/creators';
import { createLimiters } from '@airl/creators/limiters';
import { createPlanEditor, createRateLimitAdmin } from '@airl/ratelimit/admin';
import type { RateLimitErrorData } from '@airl/ratelimit/trpc';
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, expectTypeOf, inject, it } from 'vitest';

import { SESSION_COOKIE } from '~/server/session';
import type { AppRouter } from '~/server/trpc/router';

import { sessionCookie, TEST_REDIS_TOKEN } from './support/app-server';

const appUrl = inject('appUrl');
const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
// the app's limiters, reached through the engine (same Redis, same prefix)
const limiters = createLimiters({ client: redis, prefix: inject('appPrefix') });
afterAll(async () => {
  await limiters.close();
  await redis.quit();
});

type ClientError = TRPCClientError<AppRouter>;

/** A fresh start for a demo creator on a plan: usage reset, plan set on the server. */
async function creator(id: string, plan: CreatorPlan) {
  await limiters.limiter.reset(id);
  await limiters.directory.setPlan(id, plan);
  return sessionCookie(redis, inject('appPrefix'), id);
}

function client(cookie: string | undefined, options: { batch?: boolean; headers?: () => Record<string, string> } = {}) {
  const responses: Response[] = [];
  const link = (options.batch ?? true) ? httpBatchLink : httpLink;
  const trpc = createTRPCClient<AppRouter>({
    links: [
      link({
        url: `${appUrl}/api/trpc`,
        // a POST must come from the app's own origin, as the app's pages send it
        headers: () => ({ origin: appUrl, ...(cookie && { cookie }), ...options.headers?.() }),
        fetch: async (input, init) => {
          const res = await fetch(input, init);
          responses.push(res);
          return res;
        },
      }),
    ],
  });
  return { trpc, responses };
}

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ClientError);
const caption = { description: 'Morning run by the river' };

describe('AI procedures over HTTP', () => {
  it('denies past the plan limit with 429, Retry-After, RateLimit headers and typed error data', async () => {
    const { trpc, responses } = client(await creator('creator-ava', 'starter'), { batch: false });
    for (let i = 0; i < 5; i++) {
      const answer = await trpc.ai.caption.mutate(caption);
      expect(answer.usage.totalTokens).toBeGreaterThan(0);
      expect(answer.model).toBe('local-demo');
    }
    const ok = responses.at(-1)!;
    expect(ok.status).toBe(200);
    // the plan's limits, the creator's fair shares of the provider's budget, then the budget
    expect(ok.headers.get('ratelimit-policy')).toBe(
      '"ai:burst";q=5;w=60, "ai:hourly";q=50;w=3600, "ai:tokens";q=20000;w=86400;qu="airl-tokens", "ai:monthly-spend";q=1000;w=2678400;qu="airl-cents", ' +
        '"ai:provider-requests-share";q=300;w=60, "ai:provider-tokens-share";q=100000;w=60;qu="airl-tokens", "ai:provider-requests";q=3000;w=60, "ai:provider-tokens";q=1000000;w=60;qu="airl-tokens"',
    );
    expect(ok.headers.get('x-ratelimit-limit')).toBe('5');
    expect(ok.headers.get('x-ratelimit-remaining')).toBe('0');

    const error = await rejection(trpc.ai.caption.mutate(caption));
    const denied = responses.at(-1)!;
    expect(denied.status).toBe(429);
    const retryAfter = Number(denied.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(denied.headers.get('ratelimit')).toMatch(/^"ai:burst";r=0;t=\d+, "ai:hourly";r=45;t=\d+, "ai:tokens";r=\d+;t=\d+, "ai:monthly-spend";r=\d+;t=\d+, "ai:provider-requests-share";r=\d+;t=\d+, "ai:provider-tokens-share";r=\d+;t=\d+$/);
    expect(denied.headers.get('x-ratelimit-remaining')).toBe('0');

    expect(error).toBeInstanceOf(TRPCClientError);
    expectTypeOf(error!.data!.rateLimit).toEqualTypeOf<RateLimitErrorData | null>();
    const data = error!.data!;
    expect(data.code).toBe('TOO_MANY_REQUESTS');
    expect(data.rateLimit).toMatchObject({ group: 'ai', reason: 'RATE_LIMITED', retryable: true, deniedBy: 'burst', limit: 5, remaining: 0, unit: 'requests' });
    expect(data.rateLimit!.retryAfterMs).toBeGreaterThan(0);
    expect(data.rateLimit!.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(Math.ceil(data.rateLimit!.retryAfterMs / 1000)).toBe(retryAfter);
    expect(error!.message).toMatch(/per-minute limit of 5 AI requests: try again in \d+ seconds?\./);
  });

  it('counts every call of a batch, and the headers show the most restrictive state', async () => {
    const { trpc, responses } = client(await creator('creator-ben', 'starter'));
    const results = await Promise.allSettled(Array.from({ length: 7 }, () => trpc.ai.fanReply.mutate({ fanMessage: 'hi!' })));
    expect(responses).toHaveLength(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const denied = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as ClientError).data?.rateLimit?.deniedBy);
    expect(denied).toEqual(['burst', 'burst']);
    const batch = responses[0]!;
    expect(batch.status).toBe(207);
    expect(batch.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(batch.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(batch.headers.get('ratelimit')).toMatch(/^"ai:burst";r=0;/);
    // the engine agrees: 5 requests charged, the 2 denied ones not
    const status = await limiters.limiter.peek('creator-ben', { plan: 'starter' });
    expect(status.limits.find((l) => l.name === 'hourly')?.remaining).toBe(45);
  });

  it('counts the signed-in creator whatever X-Forwarded-For says', async () => {
    let n = 0;
    const { trpc } = client(await creator('creator-dan', 'starter'), { batch: false, headers: () => ({ 'x-forwarded-for': `203.0.113.${++n}` }) });
    for (let i = 0; i < 5; i++) await trpc.ai.caption.mutate(caption);
    const error = await rejection(trpc.ai.caption.mutate(caption));
    expect(error?.data?.rateLimit?.deniedBy).toBe('burst');
    expect(n).toBe(6);
  });

  it('takes the plan from the server, not the client: a plan change applies on the next call', async () => {
    const cookie = await creator('creator-chloe', 'starter');
    const { trpc } = client(cookie, { batch: false });
    expect((await trpc.ai.quota.query()).limits.find((l) => l.name === 'burst')?.limit).toBe(5);
    await limiters.directory.setPlan('creator-chloe', 'pro');
    const quota = await trpc.ai.quota.query();
    expect(quota.plan).toBe('pro');
    expect(quota.limits.find((l) => l.name === 'burst')?.limit).toBe(20);
    expect(quota.spend).toMatchObject({ plan: 'pro', limit: 50, spent: 0, percentUsed: 0, unlimited: false, warning: null });
  });

  it('refuses callers without a valid session', async () => {
    const anonymous = await rejection(client(undefined, { batch: false }).trpc.ai.caption.mutate(caption));
    expect(anonymous?.data?.httpStatus).toBe(401);
    // a well-formed token the server never issued
    const forgedToken = 'A'.repeat(43);
    const forged = await rejection(client(`${SESSION_COOKIE}=${forgedToken}`, { batch: false }).trpc.ai.caption.mutate(caption));
    expect(forged?.data?.code).toBe('UNAUTHORIZED');
  });
});

describe("the AI provider's shared budget", () => {
  const editor = createPlanEditor(limiters.limiter);
  /** Calls until the first denial (the app applies a size change when it hears it: a call or two may pass first). */
  async function firstDenial(trpc: ReturnType<typeof client>['trpc']): Promise<ClientError> {
    for (let i = 0; i < 20; i++) {
      const error = await rejection(trpc.ai.caption.mutate(caption));
      if (error) return error;
    }
    throw new Error('no denial within 20 calls');
  }

  it('tells a creator denied by the platform-wide budget that it is not their limit, and when to retry; their own limits are not charged', async () => {
    const { trpc, responses } = client(await creator('creator-dan', 'pro'), { batch: false });
    try {
      // one request a minute for everyone, no fair share (a share of it would deny first)
      await editor.update({ actor: 'http-test', sizes: { shared: { provider: { limits: { 'provider-requests': 1 }, maxShare: 1 } } } });
      const error = await firstDenial(trpc);
      expect(responses.at(-1)!.status).toBe(429);
      expect(Number(responses.at(-1)!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(error.data?.rateLimit).toMatchObject({ deniedBy: 'provider-requests', sharedBudget: 'provider', reason: 'RATE_LIMITED', retryable: true, unit: 'requests', limit: 1 });
      expect(error.message).toMatch(/^The platform's AI capacity is fully used by all creators right now: a platform-wide limit on AI requests shared by every creator, not a limit of your plan\. Try again in \d+ seconds?\.$/);
      // the denied call charged none of the creator's own limits; the page lists only those
      const before = await trpc.ai.quota.query();
      expect(before.limits.map((l) => l.name)).toEqual(['burst', 'hourly', 'tokens']);
      await rejection(trpc.ai.caption.mutate(caption));
      expect((await trpc.ai.quota.query()).limits.map((l) => l.used)).toEqual(before.limits.map((l) => l.used));
    } finally {
      await editor.restoreDefaults({ actor: 'http-test' });
    }
  });

  it("tells a creator past their fair share of the platform's budget that it is a platform-wide limit", async () => {
    const { trpc } = client(await creator('creator-eve', 'business'), { batch: false });
    try {
      // a share of one request (and 1,000 tokens) a minute
      await editor.update({ actor: 'http-test', sizes: { shared: { provider: { limits: { 'provider-requests': 1000 }, maxShare: 0.001 } } } });
      const error = await firstDenial(trpc);
      expect(error.data?.rateLimit).toMatchObject({ deniedBy: 'provider-requests-share', sharedBudget: 'provider', limit: 1 });
      expect(error.message).toMatch(/^You have used your fair share of the platform's AI requests for now: a platform-wide limit shared by all creators \(no one may take more than a share of it\), not a limit of your plan\. Try again in \d+ seconds?\.$/);
    } finally {
      await editor.restoreDefaults({ actor: 'http-test' });
    }
  });
});

describe('cross-site calls', () => {
  const burstLeft = async (id: string) => (await limiters.limiter.peek(id, { plan: 'starter' })).limits.find((l) => l.name === 'burst')!.remaining;

  it('refuses a POST from another site or without Origin with a 403 a tRPC client reads, before anything is charged', async () => {
    const cookie = await creator('creator-ava', 'starter');
    for (const batch of [false, true]) {
      const foreign = await rejection(client(cookie, { batch, headers: () => ({ origin: 'https://evil.example' }) }).trpc.ai.caption.mutate(caption));
      expect(foreign, `batch ${batch}`).toBeInstanceOf(TRPCClientError);
      expect(foreign?.data?.code).toBe('FORBIDDEN');
      expect(foreign?.data?.httpStatus).toBe(403);
      expect(foreign?.message).toContain('Origin evil.example is not this app');
      const opaque = await rejection(client(cookie, { batch, headers: () => ({ origin: 'null' }) }).trpc.ai.caption.mutate(caption));
      expect(opaque?.data?.code).toBe('FORBIDDEN');
    }
    // no Origin at all (a script, or a form another site posts without one), single and batched
    for (const url of [`${appUrl}/api/trpc/ai.caption`, `${appUrl}/api/trpc/ai.caption?batch=1`]) {
      const body = url.includes('batch') ? { 0: caption } : caption;
      const res = await fetch(url, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, url).toBe(403);
      expect(JSON.stringify(await res.json())).toContain('"code":"FORBIDDEN"');
    }
    expect(await burstLeft('creator-ava')).toBe(5);
    // the same call from the app's own origin goes through and is charged
    await client(cookie, { batch: false }).trpc.ai.caption.mutate(caption);
    expect(await burstLeft('creator-ava')).toBe(4);
  });

  it('leaves queries (GET) alone: the page\'s reads need no Origin', async () => {
    const cookie = await creator('creator-ben', 'starter');
    const res = await fetch(`${appUrl}/api/trpc/ai.quota`, { headers: { cookie } });
    expect(res.status).toBe(200);
  });
});

describe('what the page is told', () => {
  it('refuses input over the length limit with a sentence to act on, not the schema issues as JSON', async () => {
    const { trpc } = client(await creator('creator-dan', 'pro'), { batch: false });
    const tooLong = await rejection(trpc.ai.caption.mutate({ description: 'x'.repeat(2001) }));
    expect(tooLong?.data?.httpStatus).toBe(400);
    expect(tooLong?.message).toBe('The text is too long: at most 2,000 characters. Shorten it and try again.');
    const empty = await rejection(trpc.ai.performanceAnalysis.mutate({ metrics: '   ' }));
    expect(empty?.message).toBe('Write something first: the text is empty.');
    // nothing was charged
    expect((await trpc.ai.quota.query()).limits.find((l) => l.name === 'hourly')?.used).toBe(0);
  });

  it('tells a blocked creator until when and why, with the real usage and the plan in force, not every limit used up', async () => {
    const { trpc } = client(await creator('creator-ben', 'starter'), { batch: false });
    await trpc.ai.caption.mutate(caption);
    const admin = createRateLimitAdmin(limiters.limiter);
    await admin.overridePlan('creator-ben', { actor: 'alice', plan: 'pro', for: '1 h' });
    await admin.block('creator-ben', { actor: 'alice', for: '1 h', reason: 'ticket 9' });
    try {
      const quota = await trpc.ai.quota.query();
      expect(quota.block?.reason).toBe('ticket 9');
      expect(quota.block!.until - quota.now).toBeGreaterThan(3_500_000);
      expect(quota).toMatchObject({ plan: 'pro', basePlan: 'starter' });
      expect(quota.limits.find((l) => l.name === 'hourly')).toMatchObject({ used: 1, remaining: 99, limit: 100 });
      expect(quota.spend.warning).toBeNull();
      expect(quota.spend.percentUsed).toBeLessThan(1);
    } finally {
      await admin.lift('creator-ben', { actor: 'alice' });
    }
    expect((await trpc.ai.quota.query()).block).toBeNull();
  });
});

describe('monthly AI budget', () => {
  it('warns past 95%, then answers QUOTA_EXCEEDED (not retryable) past the budget', async () => {
    const { trpc } = client(await creator('creator-eve', 'starter'), { batch: false });
    // $9.99 of the $10 spent (in one earlier call)
    await limiters.limiter.check('creator-eve', { plan: 'starter', cost: { cents: 999 } });
    const before = await trpc.ai.quota.query();
    expect(before.spend).toMatchObject({ limit: 10, spent: 9.99, remaining: 0.01, percentUsed: 99.9, warning: 'critical' });
    const answer = await trpc.ai.salesOptimization.mutate({ catalog: 'Photo set $9' });
    expect(answer.costCents).toBe(1);
    const error = await rejection(trpc.ai.salesOptimization.mutate({ catalog: 'Photo set $9' }));
    expect(error?.data?.httpStatus).toBe(429);
    expect(error?.data?.rateLimit).toMatchObject({ group: 'ai', reason: 'QUOTA_EXCEEDED', retryable: false, deniedBy: 'monthly-spend', unit: 'cents', remaining: 0 });
    expect(error?.message).toMatch(/^QUOTA_EXCEEDED: your monthly AI budget of \$10\.00 is used up/);
    // the denied call charged nothing: requests, tokens and cents are checked in one step
    const quota = await trpc.ai.quota.query();
    expect(quota.limits.find((l) => l.name === 'hourly')?.used).toBe(2);
    expect(quota.spend).toMatchObject({ spent: 10, remaining: 0, percentUsed: 100 });
  });
});

describe('GET /api/ai/quota (legacy shape)', () => {
  it('answers { limit, spent, remaining, percentUsed, plan } in USD for the signed-in creator', async () => {
    const cookie = await creator('creator-ava', 'pro');
    await limiters.limiter.check('creator-ava', { plan: 'pro', cost: { cents: 4100 } });
    const res = await fetch(`${appUrl}/api/ai/quota`, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ limit: 50, spent: 41, remaining: 9, percentUsed: 82, plan: 'pro', warning: 'warning' });
    expect((await fetch(`${appUrl}/api/ai/quota`)).status).toBe(401);
  });
});

describe('GET /api/test-redis', () => {
  it('needs the bearer token in production', async () => {
    const none = await fetch(`${appUrl}/api/test-redis`);
    expect(none.status).toBe(401);
    const wrong = await fetch(`${appUrl}/api/test-redis`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ success: false, errorType: 'UNAUTHORIZED' });
  });

  it('answers the legacy shape, without credentials', async () => {
    const res = await fetch(`${appUrl}/api/test-redis`, { headers: { authorization: `Bearer ${TEST_REDIS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      success: true,
      connection: { host: expect.any(String) as string, port: expect.stringMatching(/^\d+$/) as string, redisVersion: expect.stringMatching(/^\d+\.\d+/) as string },
      tests: { ping: { result: 'PONG' }, set: {}, get: { value: 'success' }, delete: {} },
      performance: { totalDuration: expect.stringMatching(/^\d+ms$/) as string },
      meta: { timestamp: expect.any(String) as string, correlationId: expect.any(String) as string },
    });
    expect(JSON.stringify(body)).not.toMatch(/password|redis:\/\//i);
  });
});
