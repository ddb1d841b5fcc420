// TLS and AUTH failures name their cause, in the store's errors and in the client's error events
// (what the apps log), against real TLS and plain servers on loopback; configuration errors are
// reported when the configuration is read, and never show a secret.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTestCertificates, rawCommand, type Server, startServer, startTlsServer, type TlsServer } from '@airl/vitest-config/redis';

import { createRateLimiter, type Logger, RateLimitConfigError, type RateLimitEvent } from '../src/index';
import { createRedisClient, createRedisStore, redisConfigFromEnv } from '../src/redis';

const token = `tok-${randomBytes(16).toString('hex')}`;
let tls: TlsServer;
/** A TLS server whose certificate names only cache.example.internal, not 127.0.0.1. */
let otherName: TlsServer;
let plain: Server;
/** Certificates of another throwaway CA: the wrong one to trust. */
let wrongCa: string;
const dirs: string[] = [];

beforeAll(async () => {
  [tls, otherName, plain] = await Promise.all([
    startTlsServer({ password: token }),
    startTlsServer({ password: token, altNames: 'DNS:cache.example.internal' }),
    startServer({ name: 'redis-auth' }),
  ]);
  await rawCommand({ port: plain.port }, 'CONFIG', 'SET', 'requirepass', token);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wrong-ca-'));
  dirs.push(dir);
  wrongCa = makeTestCertificates(dir).caFile;
});
afterAll(async () => {
  await Promise.all([tls?.stop(), otherName?.stop(), plain?.stop()]);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Checks until a store error matches `expected` (at most 12 s); returns what was seen. */
async function failures(env: Record<string, string>, expected: RegExp) {
  const events: RateLimitEvent[] = [];
  const lines: string[] = [];
  const clientErrors: string[] = [];
  const logger: Logger = { warn: (r) => lines.push(JSON.stringify(r)), error: (r) => lines.push(JSON.stringify(r)) };
  const client = createRedisClient(redisConfigFromEnv(env)!, { connectTimeout: 1000 });
  client.on('error', (e: Error) => clientErrors.push(e.message));
  const limiter = createRateLimiter({
    store: createRedisStore({ client: () => client, prefix: `diag-${randomBytes(3).toString('hex')}`, timeout: '3 s' }),
    // every call goes to the store: no 2 s pause after a failure
    storeRetryAfter: 1,
    onEvent: (e) => events.push(e),
    logger,
  });
  const storeErrors = () => events.flatMap((e) => (e.type === 'store-error' ? [e.error.message] : []));
  const deadline = Date.now() + 12_000;
  while (!storeErrors().some((m) => expected.test(m)) && Date.now() < deadline) {
    const result = await limiter.check('creator-1', { plan: 'pro' });
    expect(result.degraded).toBe('fallback');
    await new Promise((r) => setTimeout(r, 100));
  }
  await limiter.close();
  client.disconnect();
  return { storeErrors: storeErrors(), lines, clientErrors, everything: JSON.stringify([storeErrors(), lines, clientErrors]) };
}

describe('a TLS or AUTH failure names its cause', () => {
  it.each([
    ['no CA (certificate verification)', () => ({ REDIS_URL: `rediss://:${token}@127.0.0.1:${tls.port}` }), /TLS certificate verification failed.*set REDIS_TLS_CA_FILE/],
    ['the wrong CA (certificate verification)', () => ({ REDIS_URL: `rediss://:${token}@127.0.0.1:${tls.port}`, REDIS_TLS_CA_FILE: wrongCa }), /TLS certificate verification failed.*the CA in REDIS_TLS_CA_FILE did not sign/],
    ['a certificate for another host name', () => ({ REDIS_URL: `rediss://:${token}@127.0.0.1:${otherName.port}`, REDIS_TLS_CA_FILE: otherName.caFile }), /TLS host name mismatch.*does not name '127\.0\.0\.1'/],
    ['plain text to a TLS port', () => ({ REDIS_URL: `redis://:${token}@127.0.0.1:${tls.port}` }), /speaks TLS and this client sent plain text: use rediss:\/\/ or set REDIS_TLS=true/],
    ['TLS to a plain port', () => ({ REDIS_URL: `rediss://:${token}@127.0.0.1:${plain.port}`, REDIS_TLS_CA_FILE: tls.caFile }), /speaks plain text and this client sent TLS: use redis:\/\/ or set REDIS_TLS=false/],
    ['a wrong password', () => ({ REDIS_URL: `rediss://:wrong-${token}@127.0.0.1:${tls.port}`, REDIS_TLS_CA_FILE: tls.caFile }), /refused the user name or password \(WRONGPASS\): check REDIS_AUTH_TOKEN/],
    ['no password', () => ({ REDIS_URL: `rediss://127.0.0.1:${tls.port}`, REDIS_TLS_CA_FILE: tls.caFile }), /requires a password and none was sent \(NOAUTH\): set REDIS_AUTH_TOKEN/],
  ])('%s: in the store error and the client error events, without the secret', { timeout: 30_000 }, async (_, env, expected) => {
    const seen = await failures(env(), expected);
    expect(seen.storeErrors.some((m) => expected.test(m)), seen.everything).toBe(true);
    expect(seen.clientErrors.some((m) => expected.test(m)), seen.everything).toBe(true);
    expect(seen.everything).not.toMatch(/max retries per request/);
    expect(seen.everything).not.toContain(token.slice(4));
  });

  it('the limiter logs the named cause when the first failure is already diagnosed (certificate)', { timeout: 30_000 }, async () => {
    const seen = await failures({ REDIS_URL: `rediss://:${token}@127.0.0.1:${tls.port}` }, /TLS certificate verification failed/);
    expect(seen.lines.some((l) => /rate limiter store call failed.*TLS certificate verification failed/.test(l)), seen.everything).toBe(true);
  });
});

describe('configuration read from the environment', () => {
  it('reports an unreadable REDIS_TLS_CA_FILE, or one without a certificate, when it is read', () => {
    const missing = path.join(os.tmpdir(), `no-such-ca-${randomBytes(4).toString('hex')}.pem`);
    expect(() => redisConfigFromEnv({ REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: missing })).toThrow(RateLimitConfigError);
    expect(() => redisConfigFromEnv({ REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: missing })).toThrow(/REDIS_TLS_CA_FILE=.* cannot be read \(ENOENT\)/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'not-pem-'));
    dirs.push(dir);
    const notPem = path.join(dir, 'ca.pem');
    fs.writeFileSync(notPem, 'not a certificate');
    expect(() => redisConfigFromEnv({ REDIS_URL: 'rediss://127.0.0.1:6380', REDIS_TLS_CA_FILE: notPem })).toThrow(/REDIS_TLS_CA_FILE=.* holds no PEM certificate/);
  });

  it.each([
    { REDIS_HOST: 'h', REDIS_TLS: token },
    { REDIS_HOST: 'h', REDIS_CLUSTER: `https://user:${token}@example.com` },
    { REDIS_HOST: 'h', REDIS_PORT: token },
    { REDIS_URL: `http://user:${token}@example.com:6379` },
    { REDIS_URL: `redis://user:${token}@[bad` },
  ])('never shows a value that may be a secret: %o', (env) => {
    let message = '';
    try {
      redisConfigFromEnv(env);
    } catch (error) {
      expect(error).toBeInstanceOf(RateLimitConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/REDIS_/);
    expect(message).not.toContain(token.slice(4));
  });
});
