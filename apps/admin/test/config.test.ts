// Start-up configuration: every mistake named with its variable; production needs real accounts
// and a session secret; the demo account only where it is asked for.
import { describe, expect, it } from 'vitest';

import { DEMO_ADMIN } from '~/server/accounts';
import { ConfigError, loadConfig, PROXY_NOTE } from '~/server/config';

const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

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
    expect(loadConfig({ NODE_ENV: 'production', DEMO_ADMIN: 'true' }).metrics).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', DEMO_ADMIN: 'true', RATE_LIMIT_METRICS: 'false' }).metrics).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development' }).metrics).toBe(false);
    expect(loadConfig({ NODE_ENV: 'development', RATE_LIMIT_METRICS: 'true' }).metrics).toBe(true);
    expect(problems({ NODE_ENV: 'development', RATE_LIMIT_METRICS: 'emf' })).toEqual(["RATE_LIMIT_METRICS='emf' must be true or false"]);
  });

  it('in development: memory, the demo admin, the development secret, no trusted proxy', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config).toMatchObject({ production: false, demoAdmin: true, trustedProxyCount: 1, limiters: { redis: undefined, prefix: 'ratelimit' } });
    expect([...config.accounts.values()]).toEqual([{ name: DEMO_ADMIN.name, passwordHash: DEMO_ADMIN.passwordHash, demo: true }]);
    expect(config.notes).toEqual([expect.stringMatching(/^Demo admin account on \(admin \/ demo-password\)/), expect.stringMatching(/development secret/)]);
  });

  it('reads RATE_LIMIT_LAMBDA as the web app does (the limiter function, on Amplify) and names its mistakes', () => {
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:airl-ratelimit-limiter';
    expect(loadConfig({ NODE_ENV: 'development', RATE_LIMIT_LAMBDA: arn }).limiters).toEqual({ redis: undefined, lambda: { functionName: arn, region: 'eu-west-1' }, prefix: 'ratelimit' });
    expect(problems({ NODE_ENV: 'development', RATE_LIMIT_LAMBDA: 'airl-ratelimit-limiter' })).toEqual([expect.stringMatching(/^RATE_LIMIT_LAMBDA is a name, and AWS_REGION is not set/)]);
    expect(problems({ NODE_ENV: 'development', RATE_LIMIT_LAMBDA: arn, REDIS_URL: 'redis://cache:6379' })).toEqual([expect.stringMatching(/^RATE_LIMIT_LAMBDA and a Redis .* are both set/)]);
  });

  it('reads the web app\'s Redis and prefix, accounts, the proxy count', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      REDIS_URL: 'rediss://:tok@cache.example:6380',
      RATE_LIMIT_PREFIX: 'rl',
      ADMIN_USERS: `alice:${HASH}; Bob.Ops@team:${HASH}`.replace('Bob.Ops@team', 'bob.ops@team') + `\n  carol:${HASH}`,
      SESSION_SECRET: 'x'.repeat(40),
      TRUSTED_PROXY_COUNT: '2',
    });
    expect(config.limiters).toMatchObject({ prefix: 'rl', redis: { host: 'cache.example', port: 6380, tls: true } });
    expect([...config.accounts.keys()]).toEqual(['alice', 'bob.ops@team', 'carol']);
    expect(config).toMatchObject({ demoAdmin: false, trustedProxyCount: 2, notes: [] });
    expect(new TextDecoder().decode(config.sessionSecret)).toBe('x'.repeat(40));
  });

  it('production needs real accounts and a session secret', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^ADMIN_USERS is required in production: name:<argon2id hash> entries \(make a hash with: pnpm --filter @airl\/admin hash-password <name>\)$/),
      expect.stringMatching(/^SESSION_SECRET is required in production/),
    ]);
    // `npm start`'s demo: the demo account, and a random secret per process
    const demo = loadConfig({ NODE_ENV: 'production', DEMO_ADMIN: 'true' });
    expect(demo.sessionSecret).toHaveLength(32);
    expect(demo.notes).toContainEqual(expect.stringMatching(/random secret/));
    // one proxy by default (a load balancer, CloudFront, or Next.js itself); 0 trusts no address
    expect(demo.trustedProxyCount).toBe(1);
    // ...said once at start, with how to turn it off for an app clients reach directly
    expect(demo.notes.filter((n) => n.startsWith('TRUSTED_PROXY_COUNT is not set'))).toEqual([PROXY_NOTE]);
    expect(PROXY_NOTE).toMatch(/assuming 1 proxy .* set TRUSTED_PROXY_COUNT=0/);
    const zero = loadConfig({ NODE_ENV: 'production', DEMO_ADMIN: 'true', TRUSTED_PROXY_COUNT: '0' });
    expect(zero.trustedProxyCount).toBe(0);
    expect(zero.notes).not.toContain(PROXY_NOTE);
  });

  it('lists every mistake at once, each naming its variable, never echoing a hash', () => {
    const list = problems({
      NODE_ENV: 'production',
      REDIS_URL: 'http://cache:6379',
      DEMO_ADMIN: 'maybe',
      ADMIN_USERS: `alice:${HASH} nocolon Alice!:${HASH} bob:plaintext-password alice:${HASH}`,
      SESSION_SECRET: 'short',
      TRUSTED_PROXY_COUNT: 'one',
    });
    expect(list).toEqual([
      expect.stringMatching(/^REDIS_URL must start with redis:\/\/ or rediss:\/\//),
      "DEMO_ADMIN='maybe' must be true or false",
      expect.stringMatching(/^ADMIN_USERS entry 2 must be name:<argon2id hash>/),
      expect.stringMatching(/^ADMIN_USERS entry 3: the name 'Alice!' must be 1 to 64 lower-case letters/),
      expect.stringMatching(/^ADMIN_USERS entry 4 \(bob\): the hash is not an argon2id hash .* In a \.env file write each \$ as \\\$/),
      "ADMIN_USERS entry 5: 'alice' is listed twice",
      expect.stringMatching(/^SESSION_SECRET must be at least 32 characters/),
      "TRUSTED_PROXY_COUNT='one' must be the number of proxies in front of the app (0 to 10; 0 trusts no address)",
    ]);
    expect(list.join('\n')).not.toContain('plaintext-password');
    expect(problems({ DEMO_ADMIN: 'false' })).toEqual(['ADMIN_USERS is empty and DEMO_ADMIN=false: nobody could sign in']);
    expect(problems({ DEMO_ADMIN: 'true', ADMIN_USERS: `admin:${HASH}` })).toEqual([expect.stringMatching(/the demo account's name/)]);
    expect(problems({ RATE_LIMIT_PREFIX: 'a b' })).toEqual([expect.stringMatching(/RATE_LIMIT_PREFIX/)]);
  });
});
