// rateLimited() through tRPC itself: createCaller for the procedure semantics, and a real
// @trpc/client over the fetch adapter for status codes, headers, batching and typed error data.
import { createTRPCClient, httpBatchLink, httpLink, TRPCClientError } from '@trpc/client';
import { initTRPC, TRPCError } from '@trpc/server';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

import { createRateLimitAdmin } from '../src/admin';
import { createRateLimiter, type RateLimiter, RateLimitConfigError } from '../src/index';
import { createRedisStore } from '../src/redis';
import {
  byClientIp,
  formatRateLimitHeaders,
  rateLimited,
  type RateLimitErrorData,
  rateLimitErrorData,
  rateLimitErrorFormatter,
  type RateLimitMeta,
  type RateLimitState,
} from '../src/trpc';
import { closing, makeRedisStore, manualClock } from './fixtures/stores';

type Plan = 'starter' | 'pro';
interface Context {
  creatorId?: string | null;
  plan: Plan;
  resHeaders?: Headers;
  req?: { headers: Headers };
}

const HOUR = 3_600_000;
const t = initTRPC.context<Context>().meta<RateLimitMeta>().create({ errorFormatter: rateLimitErrorFormatter });

function requestLimiter(clock = manualClock()) {
  return closing(createRateLimiter<Plan>({
    plans: {
      starter: { limits: [{ name: 'hourly', limit: 3, window: '1 h' }] },
      pro: { limits: [{ name: 'hourly', limit: 10, window: '1 h' }] },
    },
    store: makeRedisStore('redis'),
    clock,
  }));
}

function tokenLimiter(clock = manualClock()) {
  return closing(createRateLimiter<Plan>({
    plans: {
      starter: { limits: [{ name: 'hourly', limit: 5, window: '1 h' }, { name: 'tokens', limit: 1000, window: '1 d', unit: 'tokens' }] },
      pro: { limits: [{ name: 'hourly', limit: 50, window: '1 h' }, { name: 'tokens', limit: 10_000, window: '1 d', unit: 'tokens' }] },
    },
    store: makeRedisStore('redis'),
    clock,
  }));
}

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

function appRouter(limiter: RateLimiter<Plan>) {
  // the limiter as a function of the context: what an app does to make it on first use
  const limited = rateLimited<Context, Plan>({ limiter: () => limiter, group: 'ai', plan: async ({ ctx }) => Promise.resolve(ctx.plan) });
  return t.router({
    ping: t.procedure.use(limited).query(({ ctx }) => ({ remaining: ctx.rateLimit.remaining, group: ctx.rateLimit.group })),
    viaConcat: t.procedure.concat(limited.procedure).query(({ ctx }) => ctx.rateLimit.remaining),
    heavy: t.procedure.meta({ rateLimit: { ai: { cost: 3 } } }).use(limited).query(({ ctx }) => ctx.rateLimit.remaining),
    free: t.procedure.meta({ rateLimit: { ai: false } }).use(limited).query(() => 'free'),
    sized: t.procedure
      .input(z.object({ n: z.number().int().min(1) }))
      .use(rateLimited<Context, Plan>({ limiter, group: 'ai', plan: ({ ctx }) => ctx.plan, cost: ({ input }) => (input as { n: number }).n }))
      .query(({ ctx }) => ctx.rateLimit.remaining),
  });
}

describe('rateLimited() with createCaller', () => {
  it('allows the plan limit, then denies with TOO_MANY_REQUESTS and the limit data; denied calls are not counted', async () => {
    const clock = manualClock();
    const limiter = requestLimiter(clock);
    const caller = t.createCallerFactory(appRouter(limiter))({ creatorId: 'c1', plan: 'starter' });
    expect(await caller.ping()).toEqual({ remaining: 2, group: 'ai' });
    expect(await caller.viaConcat()).toBe(1);
    expect(await caller.ping()).toEqual({ remaining: 0, group: 'ai' });
    clock.advance(60_000);
    const error = await rejection(caller.ping());
    expect(error).toBeInstanceOf(TRPCError);
    expect(error).toMatchObject({ code: 'TOO_MANY_REQUESTS', message: "Rate limit 'hourly' reached: try again in 59 minutes." });
    expect(rateLimitErrorData(error)).toEqual({
      group: 'ai',
      reason: 'RATE_LIMITED',
      retryable: true,
      retryAfterMs: HOUR - 60_000,
      limit: 3,
      remaining: 0,
      resetAt: clock() + HOUR - 60_000,
      deniedBy: 'hourly',
      unit: 'requests',
      limits: [{ name: 'hourly', unit: 'requests', limit: 3, remaining: 0, resetAt: clock() + HOUR - 60_000, retryAfterMs: HOUR - 60_000, allowed: false }],
    });
    // retrying does not extend the wait: the first call leaves the hour on time
    for (let i = 0; i < 5; i++) await rejection(caller.ping());
    clock.advance(HOUR - 60_000);
    expect(await caller.ping()).toEqual({ remaining: 2, group: 'ai' });
  });

  it('takes the plan from the context: the same creator on pro has the pro limit and keeps its usage', async () => {
    const limiter = requestLimiter();
    const router = appRouter(limiter);
    const starter = t.createCallerFactory(router)({ creatorId: 'c2', plan: 'starter' });
    const pro = t.createCallerFactory(router)({ creatorId: 'c2', plan: 'pro' });
    for (let i = 0; i < 3; i++) await starter.ping();
    await expect(starter.ping()).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(await pro.ping()).toMatchObject({ remaining: 6 });
  });

  it('counts by creator id: creators do not share a budget', async () => {
    const limiter = requestLimiter();
    const factory = t.createCallerFactory(appRouter(limiter));
    for (let i = 0; i < 3; i++) await factory({ creatorId: 'a', plan: 'starter' }).ping();
    await expect(factory({ creatorId: 'a', plan: 'starter' }).ping()).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(await factory({ creatorId: 'b', plan: 'starter' }).ping()).toMatchObject({ remaining: 2 });
  });

  it('meta sets the cost per procedure, or turns the group off', async () => {
    const limiter = requestLimiter();
    const caller = t.createCallerFactory(appRouter(limiter))({ creatorId: 'm', plan: 'pro' });
    expect(await caller.heavy()).toBe(7);
    expect(await caller.free()).toBe('free');
    expect(await caller.ping()).toMatchObject({ remaining: 6 });
  });

  it('computes the cost from the parsed input', async () => {
    const limiter = requestLimiter();
    const caller = t.createCallerFactory(appRouter(limiter))({ creatorId: 'in', plan: 'pro' });
    expect(await caller.sized({ n: 4 })).toBe(6);
    // a cost that can never fit is the caller's mistake, not a rate limit
    await expect(caller.sized({ n: 11 })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('refuses a caller with no identity', async () => {
    const limiter = requestLimiter();
    const caller = t.createCallerFactory(appRouter(limiter))({ creatorId: null, plan: 'starter' });
    await expect(caller.ping()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it.each([
    ['closed', 'answers SERVICE_UNAVAILABLE'],
    ['fallback', 'lets the in-memory fallback decide'],
  ] as const)('when the store does not answer and the plan fails %s, %s', async (mode, _what) => {
    const { Redis } = await import('ioredis');
    // nothing listens on port 1: connecting fails at once
    const dead = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null });
    dead.on('error', () => undefined);
    const limiter = createRateLimiter<Plan>({
      plans: { starter: { limits: [{ name: 'hourly', limit: 3, window: '1 h' }] }, pro: { limits: [{ name: 'hourly', limit: 3, window: '1 h' }] } },
      store: createRedisStore({ client: dead, timeout: '2 s' }),
      whenStoreFails: mode,
      logger: false,
    });
    const caller = t.createCallerFactory(appRouter(limiter))({ creatorId: 'x', plan: 'starter' });
    if (mode === 'closed') await expect(caller.ping()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    else expect(await caller.ping()).toEqual({ remaining: 2, group: 'ai' });
    await limiter.close();
    dead.disconnect();
  });

  it('tells a blocked creator it is blocked, and for how long', async () => {
    const limiter = requestLimiter();
    await createRateLimitAdmin(limiter).block('blocked-1', { actor: 'test', for: '5 m', reason: 'abuse' });
    const caller = t.createCallerFactory(appRouter(limiter))({ creatorId: 'blocked-1', plan: 'starter' });
    const error = await caller.ping().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect(rateLimitErrorData(error)).toMatchObject({ reason: 'BLOCKED', retryable: true, deniedBy: 'blocked' });
    expect((error as Error).message).toContain('blocked');
  });

  it('types ctx.rateLimit and the plugin for .use() and .concat()', () => {
    const limiter = requestLimiter();
    const plugin = rateLimited<Context, Plan>({ limiter, plan: ({ ctx }) => ctx.plan });
    t.procedure.use(plugin).query(({ ctx }) => {
      expectTypeOf(ctx.rateLimit).toEqualTypeOf<RateLimitState<Plan>>();
      expectTypeOf(ctx.rateLimit.remaining).toEqualTypeOf<number>();
      expectTypeOf(ctx.plan).toEqualTypeOf<Plan>();
      return null;
    });
    t.procedure.concat(plugin.procedure).query(({ ctx }) => {
      expectTypeOf(ctx.rateLimit.plan).toEqualTypeOf<Plan>();
      return null;
    });
    expect(typeof plugin).toBe('function');
  });
});

describe('reserve mode (token-weighted AI calls)', () => {
  const usage = z.object({ text: z.string(), tokens: z.number() });

  function router(limiter: RateLimiter<Plan>, run: (input: { tokens: number; fail?: boolean }) => Promise<z.infer<typeof usage>>) {
    const ai = rateLimited<Context, Plan>({
      limiter,
      group: 'ai',
      plan: ({ ctx }) => ctx.plan,
      reserve: { estimate: { tokens: 400 }, actual: ({ output }) => ({ tokens: usage.parse(output).tokens }) },
    });
    return t.router({
      generate: t.procedure
        .input(z.object({ tokens: z.number(), fail: z.boolean().optional() }))
        .use(ai)
        .mutation(({ input }) => run(input)),
      manual: t.procedure.use(ai).mutation(async ({ ctx }) => {
        await ctx.rateLimit.settle({ tokens: 50 });
        return 'ok';
      }),
    });
  }

  const model = (input: { tokens: number; fail?: boolean }) => {
    if (input.fail) return Promise.reject(new Error('model failed'));
    return Promise.resolve({ text: 'hi', tokens: input.tokens });
  };

  it('reserves the estimate, then charges the real usage', async () => {
    const limiter = tokenLimiter();
    const caller = t.createCallerFactory(router(limiter, model))({ creatorId: 'r1', plan: 'starter' });
    expect(await caller.generate({ tokens: 120 })).toEqual({ text: 'hi', tokens: 120 });
    const after = await limiter.peek('r1', { plan: 'starter', cost: { tokens: 1 } });
    expect(after.limits.map((l) => [l.name, l.remaining])).toEqual([['hourly', 4], ['tokens', 880]]);
  });

  it('checks the estimate against what is left, and refunds when the procedure fails', async () => {
    const limiter = tokenLimiter();
    const caller = t.createCallerFactory(router(limiter, model))({ creatorId: 'r2', plan: 'starter' });
    await expect(caller.generate({ tokens: 1, fail: true })).rejects.toThrow('model failed');
    const after = await limiter.peek('r2', { plan: 'starter', cost: { tokens: 1 } });
    expect(after.limits.map((l) => [l.name, l.remaining])).toEqual([['hourly', 5], ['tokens', 1000]]);
    await caller.generate({ tokens: 700 });
    // 300 tokens left: an estimate of 400 does not fit
    const error = await rejection(caller.generate({ tokens: 1 }));
    expect(rateLimitErrorData(error)).toMatchObject({ deniedBy: 'tokens', unit: 'tokens', remaining: 300, limit: 1000 });
  });

  it('lets the procedure settle itself', async () => {
    const limiter = tokenLimiter();
    const caller = t.createCallerFactory(router(limiter, model))({ creatorId: 'r3', plan: 'starter' });
    expect(await caller.manual()).toBe('ok');
    const after = await limiter.peek('r3', { plan: 'starter', cost: { tokens: 1 } });
    expect(after.limits.map((l) => [l.name, l.remaining])).toEqual([['hourly', 4], ['tokens', 950]]);
  });

  it('refunds the first group when a later one denies (a quota after a rate limit)', async () => {
    const clock = manualClock();
    const limiter = tokenLimiter(clock);
    const spend = closing(createRateLimiter<Plan>({
      plans: {
        starter: { limits: [{ name: 'monthly-spend', limit: 10, window: 'month', algorithm: 'fixed-window', unit: 'cents' }] },
        pro: { limits: [{ name: 'monthly-spend', limit: 50, window: 'month', algorithm: 'fixed-window', unit: 'cents' }] },
      },
      store: makeRedisStore('redis'),
      clock,
    }));
    const procedure = t.procedure
      .use(rateLimited<Context, Plan>({ limiter, group: 'ai', plan: ({ ctx }) => ctx.plan, reserve: { estimate: { tokens: 100 } } }))
      .use(
        rateLimited<Context, Plan>({
          limiter: spend,
          group: 'spend',
          plan: ({ ctx }) => ctx.plan,
          reserve: { estimate: 4 },
          reason: 'QUOTA_EXCEEDED',
          retryable: false,
          message: () => 'Monthly AI budget used up.',
        }),
      );
    const r = t.router({ go: procedure.mutation(({ ctx }) => Object.keys(ctx.rateLimits)) });
    const caller = t.createCallerFactory(r)({ creatorId: 'q', plan: 'starter' });
    expect(await caller.go()).toEqual(['ai', 'spend']);
    expect(await caller.go()).toEqual(['ai', 'spend']);
    const error = await rejection(caller.go());
    expect(error).toMatchObject({ code: 'TOO_MANY_REQUESTS', message: 'Monthly AI budget used up.' });
    expect(rateLimitErrorData(error)).toMatchObject({ group: 'spend', reason: 'QUOTA_EXCEEDED', retryable: false, deniedBy: 'monthly-spend', remaining: 2 });
    // the denied call's reservation in the ai group was given back
    const ai = await limiter.peek('q', { plan: 'starter', cost: { tokens: 1 } });
    expect(ai.limits.map((l) => [l.name, l.remaining])).toEqual([['hourly', 3], ['tokens', 800]]);
  });
});

function httpRouter(limited: ReturnType<typeof rateLimited<Context, Plan>>) {
  return t.router({
    a: t.procedure.use(limited).query(({ ctx }) => ctx.rateLimit.remaining),
    b: t.procedure.use(limited).mutation(({ ctx }) => ctx.rateLimit.remaining),
    open: t.procedure.query(() => 'open'),
  });
}
type HttpRouter = ReturnType<typeof httpRouter>;
type ClientError = TRPCClientError<HttpRouter>;

describe('rateLimited() over HTTP (fetch adapter, @trpc/client)', () => {
  function serve(limiter: RateLimiter<Plan>, options: { ipProxies?: number } = {}) {
    const router = httpRouter(
      rateLimited<Context, Plan>({
        limiter,
        group: 'ai',
        plan: ({ ctx }) => ctx.plan,
        ...(options.ipProxies !== undefined && { identify: byClientIp({ trustedProxyCount: options.ipProxies }) }),
      }),
    );
    const responses: Response[] = [];
    const fetchApp = async (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init);
      const res = await fetchRequestHandler({
        endpoint: '/trpc',
        req,
        router,
        createContext: ({ resHeaders }) => ({ creatorId: req.headers.get('x-test-creator'), plan: 'starter' as const, resHeaders, req }),
      });
      responses.push(res);
      return res;
    };
    const client = (headers: Record<string, string>, batch = true) =>
      createTRPCClient<typeof router>({ links: [(batch ? httpBatchLink : httpLink)({ url: 'http://app.test/trpc', fetch: fetchApp, headers })] });
    return { client, responses };
  }

  it('answers 429 with Retry-After, RateLimit, RateLimit-Policy and X-RateLimit-*, and typed error data', async () => {
    const clock = manualClock();
    const { client, responses } = serve(requestLimiter(clock));
    const c = client({ 'x-test-creator': 'h1' }, false);
    expect(await c.a.query()).toBe(2);
    let last = responses.at(-1)!;
    expect(last.status).toBe(200);
    expect(Object.fromEntries([...last.headers].filter(([k]) => k.includes('ratelimit')))).toEqual({
      'ratelimit-policy': '"ai:hourly";q=3;w=3600',
      ratelimit: '"ai:hourly";r=2;t=3600',
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': '2',
    });
    await c.a.query();
    clock.advance(1000);
    await c.a.query();
    clock.advance(11 * 60_000);
    const error = await rejection(c.a.query());
    last = responses.at(-1)!;
    expect(last.status).toBe(429);
    expect(last.headers.get('retry-after')).toBe(String(3600 - 11 * 60 - 1));
    expect(last.headers.get('ratelimit')).toBe(`"ai:hourly";r=0;t=${3600 - 11 * 60 - 1}`);
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(error).toBeInstanceOf(TRPCClientError);
    const data = (error as ClientError).data!;
    expect(data.httpStatus).toBe(429);
    expect(data.rateLimit).toMatchObject({ retryAfterMs: HOUR - 11 * 60_000 - 1000, limit: 3, remaining: 0, deniedBy: 'hourly', reason: 'RATE_LIMITED' });
    expect(data.rateLimit?.resetAt).toBe(clock() + HOUR - 11 * 60_000 - 1000);
    // unlimited procedures carry no rate limit headers
    await c.open.query();
    expect(responses.at(-1)!.headers.get('ratelimit')).toBeNull();
  });

  it('types the error data on the client', () => {
    expectTypeOf<NonNullable<ClientError['data']>['rateLimit']>().toEqualTypeOf<RateLimitErrorData | null>();
    expectTypeOf<NonNullable<ClientError['data']>['httpStatus']>().toEqualTypeOf<number>();
    expect(rateLimitErrorData(new Error('not a denial'))).toBeNull();
  });

  it('counts every call of a batch and shows the most restrictive state', async () => {
    const { client, responses } = serve(requestLimiter());
    const c = client({ 'x-test-creator': 'batch' });
    // one HTTP request: httpBatchLink puts queries issued together in one batch
    const results = await Promise.allSettled([c.a.query(), c.a.query(), c.open.query(), c.a.query(), c.a.query()]);
    expect(responses).toHaveLength(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    expect(results.slice(0, 4).map((r) => (r as PromiseFulfilledResult<unknown>).value)).toEqual([2, 1, 'open', 0]);
    expect(((results[4] as PromiseRejectedResult).reason as ClientError).data?.rateLimit?.deniedBy).toBe('hourly');
    const [batch] = responses;
    expect(batch!.status).toBe(207);
    // the headers show the tightest state of the batch, whatever order the calls finished in
    expect(batch!.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(batch!.headers.get('ratelimit')).toMatch(/^"ai:hourly";r=0;t=\d+$/);
    expect(Number(batch!.headers.get('retry-after'))).toBeGreaterThan(3500);
    // a mutation alone is its own request, and is counted against the same budget
    const after = await rejection(c.b.mutate());
    expect(responses[1]!.status).toBe(429);
    expect((after as ClientError).data?.rateLimit?.remaining).toBe(0);
  });

  it('by IP: a spoofed X-Forwarded-For entry does not change who is counted', async () => {
    const { client } = serve(requestLimiter(), { ipProxies: 1 });
    // the proxy appends the real peer (198.51.100.7); the client forges what comes before it
    for (let i = 0; i < 3; i++) await client({ 'x-forwarded-for': `10.0.0.${i}, 198.51.100.7` }, false).a.query();
    const error = await rejection(client({ 'x-forwarded-for': '203.0.113.99, 198.51.100.7' }, false).a.query());
    expect((error as ClientError).data?.rateLimit?.deniedBy).toBe('hourly');
    expect(await client({ 'x-forwarded-for': '198.51.100.8' }, false).a.query()).toBe(2);
    // a request that did not come through the proxy cannot be identified
    await expect(client({}, false).a.query()).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
  });

  it('in reserve mode, the headers show the state recorded after the settle, not the estimate', async () => {
    const limiter = tokenLimiter();
    const router = t.router({
      generate: t.procedure
        .input(z.object({ tokens: z.number(), failAfterSettling: z.boolean().optional() }))
        .use(rateLimited<Context, Plan>({ limiter, group: 'ai', plan: ({ ctx }) => ctx.plan, reserve: { estimate: { tokens: 400 }, actual: ({ output }) => ({ tokens: output as number }) } }))
        .mutation(async ({ ctx, input }) => {
          if (!input.failAfterSettling) return input.tokens;
          // a failed call that keeps its request counted and gives the tokens back
          await ctx.rateLimit.settle({ tokens: 0 });
          throw new TRPCError({ code: 'BAD_GATEWAY', message: 'model failed' });
        }),
    });
    const responses: Response[] = [];
    const fetchApp = async (input: string | URL | Request, init?: RequestInit) => {
      const req = new Request(input, init);
      const res = await fetchRequestHandler({ endpoint: '/trpc', req, router, createContext: ({ resHeaders }) => ({ creatorId: 'settled-headers', plan: 'starter' as const, resHeaders }) });
      responses.push(res);
      return res;
    };
    const c = createTRPCClient<typeof router>({ links: [httpLink({ url: 'http://app.test/trpc', fetch: fetchApp })] });
    // under the estimate: 120 of 400 charged
    expect(await c.generate.mutate({ tokens: 120 })).toBe(120);
    expect(responses.at(-1)!.headers.get('ratelimit')).toMatch(/^"ai:hourly";r=4;t=\d+, "ai:tokens";r=880;t=\d+$/);
    // over it: 1,500 charged past the limit of 1,000 (the work was done); remaining shows 0
    expect(await c.generate.mutate({ tokens: 1500 })).toBe(1500);
    expect(responses.at(-1)!.headers.get('ratelimit')).toMatch(/^"ai:hourly";r=3;t=\d+, "ai:tokens";r=0;t=\d+$/);
    expect(responses.at(-1)!.headers.get('retry-after')).toBeNull();
    await limiter.reset('settled-headers');
    // a failure settled by the procedure: the request counted, the tokens back
    await expect(c.generate.mutate({ tokens: 1, failAfterSettling: true })).rejects.toMatchObject({ data: { httpStatus: 502 } });
    expect(responses.at(-1)!.headers.get('ratelimit')).toMatch(/^"ai:hourly";r=4;t=\d+, "ai:tokens";r=1000;t=\d+$/);
  });

  it('refuses IP identification without a trusted proxy count', () => {
    expect(() => byClientIp({ trustedProxyCount: 0 })).toThrow(RateLimitConfigError);
  });
});

describe('formatRateLimitHeaders', () => {
  const base = { group: 'ai', now: 1_000_000, allowed: true, retryAfterMs: 0 };
  it('lists every policy, the deciding limit in X-RateLimit-*, and Retry-After only on denial', () => {
    expect(
      formatRateLimitHeaders([
        { ...base, name: 'burst', unit: 'requests', limit: 10, remaining: 1, windowMs: 60_000, resetAt: 1_042_000 },
        { ...base, name: 'tokens', unit: 'tokens', limit: 20_000, remaining: 500, windowMs: 86_400_000, resetAt: 1_000_500 },
      ]),
    ).toEqual({
      'RateLimit-Policy': '"ai:burst";q=10;w=60, "ai:tokens";q=20000;w=86400;qu="airl-tokens"',
      RateLimit: '"ai:burst";r=1;t=42, "ai:tokens";r=500;t=1',
      'X-RateLimit-Limit': '20000',
      'X-RateLimit-Remaining': '500',
    });
    expect(
      formatRateLimitHeaders([
        { ...base, name: 'burst', unit: 'requests', limit: 10, remaining: 0, windowMs: 60_000, resetAt: 1_042_000, allowed: false, retryAfterMs: 41_200 },
        { ...base, name: 'hourly', unit: 'requests', limit: 50, remaining: 3, windowMs: 3_600_000, resetAt: 1_100_000 },
      ]),
    ).toMatchObject({ 'Retry-After': '42', 'X-RateLimit-Limit': '10', 'X-RateLimit-Remaining': '0' });
  });

  it('writes units the draft registers as they are and prefixes any other with the vendor', () => {
    const state = { ...base, limit: 100, remaining: 100, windowMs: 1000, resetAt: 1_000_000 };
    const policy = (unit: string, vendor?: string) =>
      formatRateLimitHeaders([{ ...state, name: 'x', unit }], vendor === undefined ? {} : { vendor })['RateLimit-Policy'];
    expect(policy('requests')).toBe('"ai:x";q=100;w=1');
    expect(policy('content-bytes')).toBe('"ai:x";q=100;w=1;qu="content-bytes"');
    expect(policy('concurrent-requests')).toBe('"ai:x";q=100;w=1;qu="concurrent-requests"');
    expect(policy('cents')).toBe('"ai:x";q=100;w=1;qu="airl-cents"');
    expect(policy('tokens', 'acme')).toBe('"ai:x";q=100;w=1;qu="acme-tokens"');
  });

  it('keeps structured-field strings valid and leaves out an unknown window', () => {
    const headers = formatRateLimitHeaders([{ ...base, name: 'd"é\\', unit: 'requests', limit: 1, remaining: 1, windowMs: 0, resetAt: 1_000_000 }]);
    expect(headers['RateLimit-Policy']).toBe('"ai:d\\"?\\\\";q=1');
  });
});

describe('rate limit headers of two limit groups on one procedure', () => {
  it('keep limits that share a name apart, each with its own state', async () => {
    const clock = manualClock();
    const a = requestLimiter(clock);
    const b = closing(createRateLimiter<Plan>({
      plans: { starter: { limits: [{ name: 'hourly', limit: 7, window: '1 h' }, { name: 'tokens', limit: 900, window: '1 d', unit: 'tokens' }] }, pro: { limits: [{ name: 'hourly', limit: 9, window: '1 h' }] } },
      store: makeRedisStore('redis'),
      clock,
    }));
    const router = t.router({
      both: t.procedure
        .use(rateLimited<Context, Plan>({ limiter: a, group: 'ai', plan: ({ ctx }) => ctx.plan }))
        .use(rateLimited<Context, Plan>({ limiter: b, group: 'spend', plan: ({ ctx }) => ctx.plan, cost: { tokens: 40 }, quotaUnitVendor: 'acme' }))
        .query(() => 'ok'),
    });
    const resHeaders = new Headers();
    const caller = t.createCallerFactory(router)({ creatorId: 'groups', plan: 'starter', resHeaders });
    await caller.both();
    await caller.both();
    expect(resHeaders.get('ratelimit-policy')).toBe('"ai:hourly";q=3;w=3600, "spend:hourly";q=7;w=3600, "spend:tokens";q=900;w=86400;qu="acme-tokens"');
    expect(resHeaders.get('ratelimit')).toBe('"ai:hourly";r=1;t=3600, "spend:hourly";r=5;t=3600, "spend:tokens";r=820;t=86400');
    expect(resHeaders.get('x-ratelimit-remaining')).toBe('1');
  });
});
