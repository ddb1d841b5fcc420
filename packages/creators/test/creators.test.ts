/// <reference types="@airl/vitest-config/provided" />
// The shared pieces both apps rely on: plans, the budget in cents, the directory, and the limiters
// on a real Redis under the key names the admin app will look for.
import { randomUUID } from 'node:crypto';

import { RateLimitConfigError } from '@airl/ratelimit';
import { createLambdaStoreHandler } from '@airl/ratelimit/lambda-handler';
import { createRedisStore } from '@airl/ratelimit/redis';
import { dummyAws, startInvokeEndpoint } from '@airl/vitest-config/lambda-endpoint';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { AI_PLANS, costInCents, DEMO_CREATORS, planFromSubscription, quotaWarning } from '../src/index';
import { createLimiters, DEFAULT_PREFIX, limitersConfigFromEnv } from '../src/limiters';

const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());
const prefix = () => `test-${randomUUID().slice(0, 8)}`;

describe('plans', () => {
  it('maps subscriptions the way the old platform did', () => {
    expect(planFromSubscription('Pro Monthly')).toBe('pro');
    expect(planFromSubscription('premium')).toBe('pro');
    expect(planFromSubscription('Enterprise')).toBe('business');
    expect(planFromSubscription(null, 'business')).toBe('business');
    expect(planFromSubscription('basic', 'gold')).toBe('starter');
  });

  it('prices calls in whole cents, at least one', () => {
    expect(costInCents({ inputTokens: 10, outputTokens: 10 })).toBe(1);
    expect(costInCents({ inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBe(1250);
  });

  it('warns at 80% and 95% of the budget; budgets are $10 and $50 in cents', () => {
    expect([79.9, 80, 94.9, 95, 100].map(quotaWarning)).toEqual([null, 'warning', 'warning', 'critical', 'critical']);
    expect(AI_PLANS.starter.limits[3]).toMatchObject({ name: 'monthly-spend', limit: 1000, window: 'month', unit: 'cents' });
    expect(AI_PLANS.pro.limits[3]).toMatchObject({ limit: 5000 });
  });
});

describe('limitersConfigFromEnv', () => {
  it('reads nothing as memory with the default prefix, and names a bad variable', () => {
    expect(limitersConfigFromEnv({})).toEqual({ redis: undefined, prefix: DEFAULT_PREFIX });
    expect(limitersConfigFromEnv({ REDIS_URL: 'redis://h:6380', RATE_LIMIT_PREFIX: 'p1' })).toMatchObject({ redis: { host: 'h', port: 6380 }, prefix: 'p1' });
    expect(() => limitersConfigFromEnv({ RATE_LIMIT_PREFIX: 'a b' })).toThrow(/RATE_LIMIT_PREFIX/);
    expect(() => limitersConfigFromEnv({ REDIS_URL: 'http://x' })).toThrow(RateLimitConfigError);
    expect(() => limitersConfigFromEnv({ ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_PORT: 'x' })).toThrow(/ELASTICACHE_REDIS_PORT/);
  });

  it('reads RATE_LIMIT_LAMBDA: a name with AWS_REGION, or an ARN that names its region; never with a Redis too', () => {
    expect(limitersConfigFromEnv({ RATE_LIMIT_LAMBDA: 'airl-ratelimit-limiter', AWS_REGION: 'eu-west-1' })).toEqual({
      redis: undefined,
      lambda: { functionName: 'airl-ratelimit-limiter', region: 'eu-west-1' },
      prefix: DEFAULT_PREFIX,
    });
    const arn = 'arn:aws:lambda:us-east-2:123456789012:function:airl-ratelimit-limiter:live';
    expect(limitersConfigFromEnv({ RATE_LIMIT_LAMBDA: arn, AWS_REGION: 'eu-west-1' }).lambda).toEqual({ functionName: arn, region: 'us-east-2' });
    expect(() => limitersConfigFromEnv({ RATE_LIMIT_LAMBDA: 'airl-ratelimit-limiter' })).toThrow(/AWS_REGION is not set: give the function ARN/);
    expect(() => limitersConfigFromEnv({ RATE_LIMIT_LAMBDA: 'https://lambda.example', AWS_REGION: 'eu-west-1' })).toThrow(/^RATE_LIMIT_LAMBDA \(a value of 22 characters, not shown\) must be the limiter function's name/);
    expect(() => limitersConfigFromEnv({ RATE_LIMIT_LAMBDA: arn, REDIS_URL: 'redis://h:6379' })).toThrow(/RATE_LIMIT_LAMBDA and a Redis .* are both set/);
  });
});

describe('createLimiters on Redis', () => {
  it('counts requests, tokens and the budget of a creator together, under <prefix>:{<creator id>}', async () => {
    const p = prefix();
    const limiters = createLimiters({ client: redis, prefix: p });
    expect(limiters.storage).toBe('redis');
    const id = DEMO_CREATORS[0]!.id;
    const result = await limiters.limiter.check(id, { plan: 'starter', cost: { tokens: 300, cents: 7 } });
    expect(result.limits.map((l) => [l.name, l.remaining])).toEqual([
      ['burst', 4],
      ['hourly', 49],
      ['tokens', 19_700],
      ['monthly-spend', 993],
      // the creator's fair shares of the provider's budget, then the budget (every creator's)
      ['provider-requests-share', 299],
      ['provider-tokens-share', 99_700],
      ['provider-requests', 2999],
      ['provider-tokens', 999_700],
    ]);
    // (the check's reservation record, `:res`, of the two-step charge with the shared budget, is
    // cleared off the request path)
    const keys = (await redis.keys(`${p}:{${id}}*`)).filter((k) => !k.endsWith(':res')).sort();
    expect(keys).toEqual([`${p}:{${id}}`, `${p}:{${id}}:log3:burst`, `${p}:{${id}}:log3:hourly`]);
    expect(await redis.exists(`${p}:{~shared~provider}`)).toBe(1);
    await limiters.close();
    // the caller's client is not closed with the limiters
    expect(await redis.ping()).toBe('PONG');
  });

  it('keeps plan changes in Redis, so another instance sees them', async () => {
    const p = prefix();
    const one = createLimiters({ client: redis, prefix: p });
    const two = createLimiters({ client: redis, prefix: p });
    try {
      expect((await two.directory.get('creator-ava'))?.plan).toBe('starter');
      await one.directory.setPlan('creator-ava', 'business');
      expect((await two.directory.get('creator-ava'))?.plan).toBe('business');
      expect(await two.directory.get('nobody')).toBeUndefined();
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it('through the limiter function (RATE_LIMIT_LAMBDA): the same keys in Redis, plans in this process', async () => {
    const p = prefix();
    const endpoint = await startInvokeEndpoint({ limiter: createLambdaStoreHandler({ store: createRedisStore({ client: redis, prefix: p }) }) });
    const lambdaClient = new LambdaClient({ ...dummyAws, endpoint: endpoint.url, maxAttempts: 1 });
    const limiters = createLimiters({ ...limitersConfigFromEnv({ RATE_LIMIT_LAMBDA: 'limiter', AWS_REGION: 'us-east-1', RATE_LIMIT_PREFIX: p }), lambdaClient });
    try {
      expect(limiters).toMatchObject({ storage: 'lambda', redisTarget: 'Lambda function limiter' });
      expect(limiters.client()).toBeUndefined();
      const id = DEMO_CREATORS[0]!.id;
      const result = await limiters.limiter.check(id, { plan: 'starter', cost: { tokens: 300, cents: 7 } });
      expect(result.degraded).toBeUndefined();
      expect(result.limits.map((l) => l.remaining)).toEqual([4, 49, 19_700, 993, 299, 99_700, 2999, 999_700]);
      // where the admin app (direct or through the function) finds them
      expect((await redis.keys(`${p}:{${id}}*`)).filter((k) => !k.endsWith(':res')).sort()).toEqual([`${p}:{${id}}`, `${p}:{${id}}:log3:burst`, `${p}:{${id}}:log3:hourly`]);
      expect(await redis.exists(`${p}:{~shared~provider}`)).toBe(1);
      await limiters.directory.setPlan('creator-ava', 'pro');
      expect((await limiters.directory.get('creator-ava'))?.plan).toBe('pro');
      expect(await redis.keys(`${p}-creators*`)).toEqual([]);
    } finally {
      await limiters.close();
      lambdaClient.destroy();
      await endpoint.close();
    }
  });

  it('falls back to memory when no Redis is configured', async () => {
    const limiters = createLimiters({});
    expect(limiters.storage).toBe('memory');
    expect(limiters.client()).toBeUndefined();
    for (let i = 0; i < 5; i++) expect((await limiters.limiter.check('creator-ben', { plan: 'starter' })).allowed).toBe(true);
    expect(await limiters.limiter.check('creator-ben', { plan: 'starter' })).toMatchObject({ allowed: false, deniedBy: 'burst' });
    await limiters.close();
  });
});
