// What both apps' configurations read the same way: every mistake lands in `problems`, nothing throws.
import { describe, expect, it } from 'vitest';

import { ConfigError, envFlag, readLimiters, readSessionSecret } from '../src/config';

describe('shared configuration', () => {
  it('reads true/false flags and reports anything else', () => {
    const problems: string[] = [];
    expect(envFlag({ A: 'yes', B: 'off', C: '' }, 'A', problems)).toBe(true);
    expect(envFlag({ B: 'off' }, 'B', problems)).toBe(false);
    expect(envFlag({}, 'C', problems)).toBeUndefined();
    expect(envFlag({ D: 'maybe' }, 'D', problems)).toBeUndefined();
    expect(problems).toEqual(["D='maybe' must be true or false"]);
  });

  it('reads the limiters and reports Redis settings that contradict each other', () => {
    const problems: string[] = [];
    expect(readLimiters({ REDIS_URL: 'redis://127.0.0.1:6379', RATE_LIMIT_PREFIX: 'p' }, problems)).toMatchObject({ prefix: 'p', redis: { host: '127.0.0.1' } });
    expect(problems).toEqual([]);
    expect(readLimiters({ RATE_LIMIT_PREFIX: 'bad prefix' }, problems)).toEqual({ redis: undefined, prefix: 'ratelimit' });
    readLimiters({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA_FILE: '/ca.pem' }, problems);
    readLimiters({ REDIS_AUTH_TOKEN: 'secret-token' }, problems);
    expect(problems).toEqual([
      expect.stringMatching(/^RATE_LIMIT_PREFIX='bad prefix'/),
      expect.stringMatching(/^REDIS_TLS_CA_FILE is set but TLS is off/),
      expect.stringMatching(/^REDIS_AUTH_TOKEN \/ REDIS_PASSWORD is set but no Redis is/),
    ]);
  });

  it('reports an unreadable REDIS_TLS_CA_FILE among the start-up problems, naming the variable, not the password', () => {
    const problems: string[] = [];
    readLimiters({ REDIS_URL: 'rediss://:secret-pw-123@127.0.0.1:6380', REDIS_TLS_CA_FILE: '/no/such/ca.pem' }, problems);
    expect(problems).toEqual([expect.stringMatching(/^REDIS_TLS_CA_FILE=\/no\/such\/ca\.pem cannot be read \(ENOENT\)/)]);
    expect(problems.join(' ')).not.toContain('secret-pw-123');
  });

  it('takes the session secret from SESSION_SECRET, else by environment and demo mode', () => {
    const o = { production: false, demo: false, devSecret: 'dev' };
    const problems: string[] = [];
    expect(readSessionSecret({ SESSION_SECRET: 'x'.repeat(32) }, { ...o, production: true }, problems)).toEqual({ secret: new TextEncoder().encode('x'.repeat(32)), note: undefined });
    const dev = readSessionSecret({}, o, problems);
    expect(dev.secret).toEqual(new TextEncoder().encode('dev'));
    expect(dev.note).toMatch(/development secret/);
    const demo = readSessionSecret({}, { ...o, production: true, demo: true }, problems);
    expect(demo.secret).toHaveLength(32);
    expect(demo.note).toMatch(/random secret/);
    expect(problems).toEqual([]);
    readSessionSecret({ SESSION_SECRET: 'short' }, o, problems);
    readSessionSecret({}, { ...o, production: true }, problems);
    expect(problems).toEqual([expect.stringMatching(/at least 32 characters/), expect.stringMatching(/required in production/)]);
  });

  it('says every problem and where the variables are listed', () => {
    const error = new ConfigError(['A is wrong', 'B is wrong'], 'apps/web/.env.example');
    expect(error.message).toBe('Invalid configuration:\n  - A is wrong\n  - B is wrong\nSee apps/web/.env.example.');
  });
});
