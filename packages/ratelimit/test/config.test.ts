// Configuration: broken plans and options fail at creation with a typed error that names the
// value and says what to write instead.
import { describe, expect, it } from 'vitest';

import { createRateLimiter, RateLimitConfigError, toMs } from '../src/index';
import { redisConfigFromEnv } from '../src/redis';

const config = (plans: unknown) => () => createRateLimiter({ plans: plans as never });

describe('plans', () => {
  it.each([
    ['no plans', {}, 'define at least one plan'],
    ['a plan without limits', { pro: { limits: [] } }, 'plans.pro.limits: a plan needs at least one limit'],
    ['a zero limit', { pro: { limits: [{ name: 'h', limit: 0, window: '1 h' }] } }, 'plans.pro.limits[0].limit: must be > 0'],
    ['a fractional limit', { pro: { limits: [{ name: 'h', limit: 2.5, window: '1 h' }] } }, 'plans.pro.limits[0].limit: must be a whole number'],
    ['a NaN limit', { pro: { limits: [{ name: 'h', limit: Number.NaN, window: '1 h' }] } }, 'plans.pro.limits[0].limit'],
    ['an unreadable window', { pro: { limits: [{ name: 'h', limit: 5, window: '1 hr ago' }] } }, "plans.pro.limits[0].window: '1 hr ago' is not a duration"],
    ['a negative window', { pro: { limits: [{ name: 'h', limit: 5, window: -5 }] } }, 'is not a positive whole number of milliseconds'],
    ['a bad name', { pro: { limits: [{ name: 'per hour', limit: 5, window: '1 h' }] } }, 'plans.pro.limits[0].name: use 1 to 64 letters'],
    ['a duplicate name', { pro: { limits: [{ name: 'h', limit: 5, window: '1 h' }, { name: 'h', limit: 9, window: '1 d' }] } }, "'h' appears twice in plan 'pro'"],
    ['an unknown algorithm', { pro: { limits: [{ name: 'h', limit: 5, window: '1 h', algorithm: 'leaky' }] } }, 'plans.pro.limits[0].algorithm'],
    ['month on a sliding log', { pro: { limits: [{ name: 'm', limit: 5, window: 'month' }] } }, "needs algorithm 'fixed-window'"],
    ['a bad unit', { pro: { limits: [{ name: 'h', limit: 5, window: '1 h', unit: 'Tokens!' }] } }, "use a lowercase word such as 'requests'"],
    [
      'one name, two windows',
      { a: { limits: [{ name: 'h', limit: 5, window: '1 h' }] }, b: { limits: [{ name: 'h', limit: 9, window: '1 d' }] } },
      "limit 'h' counts the same usage in every plan",
    ],
    ['a sliding window too big for exact math', { pro: { limits: [{ name: 'h', limit: 1e9, window: '30 d', algorithm: 'sliding-window' }] } }, 'too large for exact counting'],
  ])('%s', (_, plans, message) => {
    const error = (() => {
      try {
        config(plans)();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RateLimitConfigError);
    expect((error as RateLimitConfigError).code).toBe('INVALID_CONFIG');
    expect((error as Error).message).toContain(message);
  });

  it('lists every problem at once', () => {
    try {
      config({ a: { limits: [{ name: 'x y', limit: -1, window: 'soon' }] } })();
      expect.unreachable();
    } catch (e) {
      expect((e as RateLimitConfigError).issues.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('accepts the same limit name with different sizes in different plans', () => {
    const limiter = createRateLimiter({ plans: { a: { limits: [{ name: 'h', limit: 5, window: '1 h' }] }, b: { limits: [{ name: 'h', limit: 9, window: 3_600_000 }] } } });
    expect([...limiter.plans.keys()]).toEqual(['a', 'b']);
  });

  it.each([
    ['anomaly threshold', { anomalies: { burst: { threshold: 0 } } }, "anomalies of plan 'starter'.burst.threshold: 0 must be a whole number > 0"],
    ['anomaly window', { anomalies: { denialStorm: { window: 'often' } } }, "anomalies of plan 'starter'.denialStorm.window: 'often' is not a duration"],
    ['anomaly factor', { anomalies: {}, plans: { p: { limits: [{ name: 't', limit: 9, window: '1 h', unit: 'tokens' }], anomalies: { costSpike: { factor: -2 } } } } }, "costSpike.factor: -2 must be a number > 0"],
    ['burst reference', { anomalies: { burst: { reference: 'daily' } } }, "anomalies of plan 'starter'.burst.reference: plan 'starter' has no limit 'daily'; its limits are: hourly"],
    [
      'burst reference unit',
      { anomalies: { burst: { reference: 't' } }, plans: { p: { limits: [{ name: 'r', limit: 9, window: '1 h' }, { name: 't', limit: 9, window: '1 h', unit: 'tokens' }] } } },
      "burst.reference: limit 't' counts tokens, but a burst counts calls: name a requests limit or give { limit, window }",
    ],
    ['burst rate', { anomalies: { burst: { reference: { limit: 0, window: '1 h' } } } }, 'burst.reference.limit: 0 must be a whole number > 0'],
    ['burst threshold and multiple', { anomalies: { burst: { threshold: 10, multiple: 3 } } }, 'burst: give either threshold or reference and multiple, not both'],
    ['anomaly setting', { anomalies: { burst: { limit: 5 } } }, "burst: unknown setting 'limit'; the settings are: window, reference, multiple, threshold, block"],
    ['failure policy', { whenStoreFails: 'sometimes' }, "whenStoreFails: 'sometimes' must be 'open', 'closed' or 'fallback'"],
    ['clock', { clock: 'server' }, "clock: 'server' must be 'store', 'local'"],
    ['reservationTtl', { reservationTtl: '0 s' }, 'reservationTtl'],
    ['maxIdentifierLength', { maxIdentifierLength: 0 }, 'maxIdentifierLength'],
    ['fallback budget', { fallbackBudget: 'half' }, "fallbackBudget: 'half' must be 'shared' or 'full'"],
    ['breaker failure count', { breaker: { failures: 0 } }, 'breaker.failures: 0 must be a whole number >= 1'],
    ['breaker window', { breaker: { downAfter: 'soon' } }, 'breaker.downAfter'],
    ['presence refresh', { presence: { refresh: '0 s' } }, 'presence.refresh'],
  ])('rejects a bad %s', (_, options, message) => {
    expect(() => createRateLimiter(options as never)).toThrow(message);
  });
});

describe('durations', () => {
  it.each([
    ['250 ms', 250],
    ['30s', 30_000],
    ['1 m', 60_000],
    ['15 minutes', 900_000],
    ['1 h', 3_600_000],
    ['2 hours', 7_200_000],
    ['1 d', 86_400_000],
    ['1.5 h', 5_400_000],
    [42, 42],
  ] as const)('%s is %i ms', (text, ms) => {
    expect(toMs(text)).toBe(ms);
  });
});

describe('redis connection from the environment', () => {
  it('reads nothing when nothing is set', () => {
    expect(redisConfigFromEnv({})).toBeUndefined();
  });
  it('reads a URL, with TLS for rediss:// and credentials', () => {
    expect(redisConfigFromEnv({ REDIS_URL: 'rediss://app:s3cr%40t@cache.example:6380' })).toEqual({
      host: 'cache.example',
      port: 6380,
      tls: true,
      username: 'app',
      password: 's3cr@t',
      cluster: false,
      clusterSet: false,
      caFile: undefined,
    });
  });
  it('reads the legacy ElastiCache variables', () => {
    expect(redisConfigFromEnv({ ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_PORT: '6379', REDIS_TLS: 'true', REDIS_AUTH_TOKEN: 't', REDIS_CLUSTER: 'yes' })).toEqual({
      host: 'h',
      port: 6379,
      tls: true,
      username: undefined,
      password: 't',
      cluster: true,
      clusterSet: true,
      caFile: undefined,
    });
  });
  it.each([
    [{ REDIS_URL: 'http://x' }, 'REDIS_URL must start with redis://'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL is not a URL'],
    [{ REDIS_HOST: 'h', REDIS_PORT: 'abc' }, "REDIS_PORT='abc' must be a port number"],
    [{ ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_PORT: '99999' }, 'ELASTICACHE_REDIS_PORT'],
    [{ REDIS_HOST: 'h', REDIS_TLS: 'maybe' }, "REDIS_TLS='maybe' must be true or false"],
  ])('names the variable to fix: %j', (env, message) => {
    expect(() => redisConfigFromEnv(env)).toThrow(RateLimitConfigError);
    expect(() => redisConfigFromEnv(env)).toThrow(message);
  });
  it('never puts the password in an error message', () => {
    try {
      redisConfigFromEnv({ REDIS_URL: 'ftp://u:hunter2@h' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });
});
