// Start-up configuration: every mistake named with its variable, sensible defaults.
import { describe, expect, it } from 'vitest';

import { ConfigError, loadConfig } from '~/server/config';

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
      expect.stringMatching(/^AI_BASE_URL='not a url' must be an http\(s\) URL/),
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
    const real = loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'x'.repeat(40), AI_BASE_URL: 'https://api.example/v1', AI_MODEL: 'm' });
    expect(real).toMatchObject({ demoSignIn: false, sessionSecretNote: undefined, ai: { kind: 'openai-compatible', model: 'm', apiKey: undefined } });
  });
});
