// Start-up configuration: every mistake named with its variable, sensible defaults.
import { describe, expect, it } from 'vitest';

import { AI_RESERVATION_TTL_MS } from '@airl/creators';

import { ConfigError, DEFAULT_AI_TIMEOUT_MS, loadConfig, MAX_AI_TIMEOUT_MS, SETTLE_MARGIN_MS } from '~/server/config';

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('loadConfig', () => {
  it('publishes the limiter metrics in production unless RATE_LIMIT_METRICS=false, and never in development unless asked', () => {
    expect(loadConfig({ NODE_ENV: 'production', DEMO_SIGN_IN: 'true' }).metrics).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', DEMO_SIGN_IN: 'true', RATE_LIMIT_METRICS: 'off' }).metrics).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development' }).metrics).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development', RATE_LIMIT_METRICS: 'true' }).metrics).toBe(true);
    expect(problems({ NODE_ENV: 'development', RATE_LIMIT_METRICS: 'emf' })).toEqual(["RATE_LIMIT_METRICS='emf' must be true or false"]);
  });

  it('defaults to memory, the local provider and demo sign-in in development', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config).toMatchObject({ production: false, demoSignIn: true, ai: { kind: 'local' }, limiters: { redis: undefined, prefix: 'ratelimit' } });
    expect(config.sessionSecretNote).toMatch(/development secret/);
  });

  it('reads Redis from REDIS_URL or the ElastiCache variables', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://:tok@cache.example:6380' }).limiters.redis).toMatchObject({ host: 'cache.example', port: 6380, tls: true, password: 'tok' });
    expect(loadConfig({ ELASTICACHE_REDIS_HOST: 'cache.internal', REDIS_TLS: 'true', REDIS_AUTH_TOKEN: 'x' }).limiters.redis).toMatchObject({ host: 'cache.internal', port: 6379, tls: true });
  });

  it('reads RATE_LIMIT_LAMBDA (the limiter function, on Amplify) and names its mistakes', () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:airl-ratelimit-limiter';
    expect(loadConfig({ RATE_LIMIT_LAMBDA: arn }).limiters).toEqual({ redis: undefined, lambda: { functionName: arn, region: 'eu-west-1' }, prefix: 'ratelimit' });
    expect(problems({ RATE_LIMIT_LAMBDA: 'airl-ratelimit-limiter' })).toEqual([expect.stringMatching(/^RATE_LIMIT_LAMBDA is a name, and AWS_REGION is not set/)]);
    expect(problems({ RATE_LIMIT_LAMBDA: arn, REDIS_URL: 'redis://cache:6379' })).toEqual([expect.stringMatching(/^RATE_LIMIT_LAMBDA and a Redis .* are both set/)]);
  });

  it('lists every mistake at once, each naming its variable', () => {
    const list = problems({
      NODE_ENV: 'production',
      DEMO_SIGN_IN: 'maybe',
      REDIS_URL: 'http://cache:6379',
      TEST_REDIS_TOKEN: 'short',
      AI_BASE_URL: 'not a url',
    });
    expect(list).toEqual([
      expect.stringMatching(/^REDIS_URL must start with redis:\/\/ or rediss:\/\//),
      "DEMO_SIGN_IN='maybe' must be true or false",
      expect.stringMatching(/^SESSION_SECRET is required in production/),
      'TEST_REDIS_TOKEN must be at least 16 characters',
      expect.stringMatching(/^AI_BASE_URL must be an http\(s\) URL/),
      expect.stringMatching(/^AI_MODEL is required with AI_BASE_URL/),
    ]);
    expect(() => loadConfig({ ELASTICACHE_REDIS_HOST: 'h', ELASTICACHE_REDIS_PORT: '99999' })).toThrow(/ELASTICACHE_REDIS_PORT='99999' must be a port number/);
    expect(problems({ REDIS_AUTH_TOKEN: 'secret' })).toEqual([expect.stringMatching(/no Redis is: set REDIS_URL/)]);
    expect(problems({ SESSION_SECRET: 'too-short' })).toEqual([expect.stringMatching(/SESSION_SECRET must be at least 32/)]);
    expect(problems({ AI_API_KEY: 'k' })).toEqual([expect.stringMatching(/AI_BASE_URL is not/)]);
  });

  it('in production, demo sign-in without a secret gets a random one; the real app needs SESSION_SECRET', () => {
    const demo = loadConfig({ NODE_ENV: 'production', DEMO_SIGN_IN: 'true' });
    expect(demo.sessionSecret).toHaveLength(32);
    expect(demo.sessionSecretNote).toMatch(/random secret/);
    const real = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), AI_BASE_URL: 'https://api.example/v1', AI_MODEL: 'm', AI_API_KEY: 'k-123' });
    expect(real).toMatchObject({ demoSignIn: false, sessionSecretNote: undefined, ai: { kind: 'openai-compatible', model: 'm', apiKey: 'k-123' } });
  });
});

describe('AI provider settings', () => {
  const hosted = { AI_BASE_URL: 'https://api.example/v1', AI_MODEL: 'm' };

  it('refuses a hosted AI_BASE_URL without AI_API_KEY; a loopback one or AI_ALLOW_NO_API_KEY=true may go without', () => {
    expect(problems(hosted)).toEqual([expect.stringMatching(/^AI_API_KEY is required with a hosted AI_BASE_URL/)]);
    for (const base of ['http://127.0.0.1:11434/v1', 'http://localhost:8000/v1', 'http://[::1]:8000/v1']) {
      expect(loadConfig({ AI_BASE_URL: base, AI_MODEL: 'm' }).ai).toEqual({ kind: 'openai-compatible', baseURL: base, apiKey: undefined, model: 'm' });
    }
    // a name that only starts like a loopback address is hosted
    expect(problems({ AI_BASE_URL: 'http://127.0.0.1.example.com/v1', AI_MODEL: 'm' })).toHaveLength(1);
    expect(loadConfig({ ...hosted, AI_ALLOW_NO_API_KEY: 'true' }).ai).toMatchObject({ kind: 'openai-compatible', apiKey: undefined });
    expect(problems({ ...hosted, AI_ALLOW_NO_API_KEY: 'sometimes' })).toEqual([expect.stringMatching(/^AI_ALLOW_NO_API_KEY\b.* must be true or false/), expect.stringMatching(/^AI_API_KEY is required/)]);
  });

  it('never shows AI_BASE_URL, which may hold a key pasted there by mistake', () => {
    const key = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';
    for (const base of [key, `https://${key}@api.example/v1`, `https://user:${key}@api.example/v1`, `ftp://api.example/${key}`]) {
      const error = (() => {
        try {
          loadConfig({ AI_BASE_URL: base, AI_MODEL: 'm', AI_API_KEY: 'k' });
        } catch (e) {
          return e as Error;
        }
        throw new Error(`accepted ${base.replace(key, '<key>')}`);
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/AI_BASE_URL must/);
      expect(error.message).not.toContain('abcdefghij');
    }
  });

  it('AI_TIMEOUT: 30 s by default, a duration or milliseconds, and short enough for the reservation to outlive the call', () => {
    expect(loadConfig({}).aiTimeoutMs).toBe(DEFAULT_AI_TIMEOUT_MS);
    expect(DEFAULT_AI_TIMEOUT_MS).toBe(30_000);
    expect(loadConfig({ AI_TIMEOUT: '45 s' }).aiTimeoutMs).toBe(45_000);
    expect(loadConfig({ AI_TIMEOUT: '2500' }).aiTimeoutMs).toBe(2500);
    // the reservation (10 minutes) must outlive the longest call plus the margin to settle it
    expect(MAX_AI_TIMEOUT_MS + SETTLE_MARGIN_MS).toBe(AI_RESERVATION_TTL_MS);
    expect(loadConfig({ AI_TIMEOUT: String(MAX_AI_TIMEOUT_MS) }).aiTimeoutMs).toBe(MAX_AI_TIMEOUT_MS);
    expect(problems({ AI_TIMEOUT: String(MAX_AI_TIMEOUT_MS + 1) })).toEqual([
      "AI_TIMEOUT must be between 1 s and 570 s: a call's reservation lasts 600 s and must outlive the call (retry included) plus 30 s to settle or refund it",
    ]);
    expect(problems({ AI_TIMEOUT: '10 m' })).toHaveLength(1);
    expect(problems({ AI_TIMEOUT: '500 ms' })).toHaveLength(1);
    expect(problems({ AI_TIMEOUT: 'soon' })).toEqual(["AI_TIMEOUT must be a duration such as '30 s' or a number of milliseconds"]);
  });
  it('never prints a value that may hold a secret, whatever variable it was put in', () => {
    const secret = 'sk-live-0123456789abcdefghijklmnop';
    const lines = [
      ...problems({ AI_BASE_URL: `ftp://user:${secret}@api.example/v1`, AI_MODEL: 'm' }),
      ...problems({ AI_BASE_URL: secret, AI_MODEL: 'm' }),
      ...problems({ REDIS_HOST: 'h', REDIS_TLS: secret }),
      ...problems({ REDIS_URL: `http://user:${secret}@cache:6379` }),
      ...problems({ AI_PRICE_INPUT_CENTS_PER_MTOK: secret }),
      ...problems({ REDIS_URL: 'redis://cache:6379', CREATOR_DEGRADED_PLAN: secret }),
    ];
    // the model's name is printed at start and shown with every answer
    lines.push(...problems({ AI_BASE_URL: 'https://api.example/v1', AI_API_KEY: 'k-1', AI_MODEL: secret }));
    lines.push(...problems({ AI_BASE_URL: 'https://api.example/v1', AI_API_KEY: 'private-0123456789', AI_MODEL: 'private-0123456789' }));
    expect(lines.slice(6)).toEqual([expect.stringMatching(/^AI_MODEL looks like an API key \(its value is not shown\)/), expect.stringMatching(/^AI_MODEL looks like an API key/)]);
    expect(lines).toHaveLength(8);
    for (const line of lines) expect(line).not.toContain(secret.slice(3));
    expect(lines.join('\n')).not.toContain('0123456789');
    expect(lines[0]).toMatch(/^AI_BASE_URL must be an http\(s\) URL .*\(its value is not shown: it may hold a secret\)$/);
  });
});
