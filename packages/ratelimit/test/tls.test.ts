// In-transit encryption and AUTH the way ElastiCache does them (TLS, an AUTH token or an ACL
// user), against a redis-server with TLS on loopback and a throwaway CA made by the test.
import { randomBytes } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTlsServer, type TlsServer } from '@airl/vitest-config/redis';

import { createRateLimiter, type Logger, type RateLimitEvent } from '../src/index';
import { createRedisClient, createRedisStore, redisConfigFromEnv } from '../src/redis';

const token = `tok-${randomBytes(16).toString('hex')}`;
const userPassword = `pw-${randomBytes(16).toString('hex')}`;
let server: TlsServer;

beforeAll(async () => {
  server = await startTlsServer({ password: token });
  // an ACL user limited to the limiter's keys and the commands it needs
  const admin = new Redis({ host: '127.0.0.1', port: server.port, password: token, tls: { ca: (await import('node:fs')).readFileSync(server.caFile) } });
  await admin.call('ACL', 'SETUSER', 'limiter', 'on', `>${userPassword}`, '~tls-*', '&tls-*', '+@all');
  await admin.quit();
});
afterAll(() => server.stop());

function limiterFromEnv(env: Record<string, string>) {
  const events: RateLimitEvent[] = [];
  const lines: string[] = [];
  const logger: Logger = { warn: (r) => lines.push(JSON.stringify(r)), error: (r) => lines.push(JSON.stringify(r)) };
  const client = createRedisClient(redisConfigFromEnv(env)!, { connectTimeout: 1500 });
  const limiter = createRateLimiter({
    store: createRedisStore({ client: () => client, prefix: `tls-${randomBytes(3).toString('hex')}`, timeout: '2 s' }),
    onEvent: (e) => events.push(e),
    logger,
  });
  return {
    limiter,
    events,
    lines,
    async close() {
      await limiter.close();
      client.disconnect();
    },
  };
}

describe('TLS and AUTH', () => {
  it('works over rediss:// with an AUTH token and the CA from REDIS_TLS_CA_FILE', async () => {
    const t = limiterFromEnv({ REDIS_URL: `rediss://:${token}@127.0.0.1:${server.port}`, REDIS_TLS_CA_FILE: server.caFile });
    expect(await t.limiter.check('creator-1', { plan: 'pro' })).toMatchObject({ allowed: true, degraded: undefined, remaining: 99 });
    await t.close();
  });

  it('works with an ACL user from the ElastiCache-style variables', async () => {
    const t = limiterFromEnv({
      ELASTICACHE_REDIS_HOST: '127.0.0.1',
      ELASTICACHE_REDIS_PORT: String(server.port),
      REDIS_TLS: 'true',
      REDIS_USERNAME: 'limiter',
      REDIS_PASSWORD: userPassword,
      REDIS_TLS_CA_FILE: server.caFile,
    });
    expect(await t.limiter.check('creator-2', { plan: 'starter' })).toMatchObject({ allowed: true, degraded: undefined, remaining: 49 });
    await t.close();
  });

  it.each([
    ['a wrong token', () => ({ REDIS_URL: `rediss://:wrong-${token}@127.0.0.1:${server.port}`, REDIS_TLS_CA_FILE: server.caFile })],
    ['an untrusted certificate', () => ({ REDIS_URL: `rediss://:${token}@127.0.0.1:${server.port}` })],
    ['plain text to a TLS port', () => ({ REDIS_URL: `redis://:${token}@127.0.0.1:${server.port}` })],
  ])('with %s: fails within its bound, falls back, and never shows the secret', async (_, env) => {
    const t = limiterFromEnv(env());
    const started = Date.now();
    const result = await t.limiter.check('creator-3', { plan: 'pro' });
    expect(Date.now() - started).toBeLessThan(2000 + 1500);
    expect(result).toMatchObject({ allowed: true, degraded: 'fallback' });
    const errors = t.events.filter((e) => e.type === 'store-error');
    expect(errors.length).toBeGreaterThan(0);
    const everything = JSON.stringify([errors.map((e) => (e as { error: Error }).error.message), t.lines, result]);
    expect(everything).not.toContain(token.slice(4));
    expect(everything).not.toContain(userPassword.slice(3));
    await t.close();
  });
});
