// Server-side sessions, the same scenario in memory and on Redis: a token opens its session until
// it is ended, all of a subject's sessions end together, absolute and idle (sliding) expiry, a
// token the store never issued opens nothing, and on Redis a copy this process read answers while
// Redis is unreachable (one it ended does not), only within the outage window after Redis last
// confirmed it; the copies kept are bounded (least recently used dropped first).
import { randomUUID } from 'node:crypto';

import { RateLimitStoreError } from '@airl/ratelimit';
import { createLambdaStoreHandler } from '@airl/ratelimit/lambda-handler';
import { createRedisStore } from '@airl/ratelimit/redis';
import { dummyAws, startInvokeEndpoint } from '@airl/vitest-config/lambda-endpoint';
import { startServer } from '@airl/vitest-config/redis';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { createLimiters, limitersConfigFromEnv } from '../src/limiters';
import { credentialFingerprint, createSessionStore, type SessionStoreOptions } from '../src/sessions';

const redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
const prefix = `test-sessions-${randomUUID().slice(0, 8)}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const stores = {
  memory: (o: Omit<SessionStoreOptions, 'prefix'>) => createSessionStore({ ...o, prefix }),
  redis: (o: Omit<SessionStoreOptions, 'prefix'>) => createSessionStore({ ...o, client: () => redis, prefix: `${prefix}:${randomUUID().slice(0, 6)}` }),
};

describe.each(Object.entries(stores))('sessions in %s', (kind, make) => {
  it('a token opens its session until it is ended; a token never issued opens nothing', async () => {
    const store = make({ maxAgeMs: 60_000 });
    const token = await store.create('alice', 'fp');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await store.read(token)).toMatchObject({ subject: 'alice', credential: 'fp' });
    for (const bad of [undefined, '', 'A'.repeat(43), `${token}x`, 'not a token']) expect(await store.read(bad)).toBeUndefined();
    await store.end(token);
    expect(await store.read(token)).toBeUndefined();
  });

  it('ending all of a subject ends each of its sessions, and no one else', async () => {
    const store = make({ maxAgeMs: 60_000 });
    const a1 = await store.create('alice');
    const a2 = await store.create('alice');
    const b = await store.create('bob');
    expect(await store.endAll('alice')).toBe(2);
    expect(await store.read(a1)).toBeUndefined();
    expect(await store.read(a2)).toBeUndefined();
    expect(await store.read(b)).toMatchObject({ subject: 'bob' });
  });

  it('ends at its maximum age; a sliding session ends when unused for its idle time, and use pushes that back', async () => {
    let now = 1_000_000;
    const store = make({ maxAgeMs: 10 * 60_000, idleMs: 3 * 60_000, now: () => now });
    const fixed = make({ maxAgeMs: 5 * 60_000, now: () => now });
    const sliding = await store.create('ava');
    const plain = await fixed.create('ben');
    now += 2 * 60_000;
    expect(await store.read(sliding)).toBeDefined(); // pushed back to now + 3 min
    now += 2 * 60_000;
    expect(await store.read(sliding)).toBeDefined();
    expect(await fixed.read(plain)).toBeDefined();
    now += 2 * 60_000; // 6 min from the start: past the fixed one's 5
    expect(await fixed.read(plain)).toBeUndefined();
    expect(await store.read(sliding)).toBeDefined();
    now += 3 * 60_000 + 1; // unused past its idle time
    expect(await store.read(sliding)).toBeUndefined();
    // never past the maximum age, however much it is used
    const busy = await store.create('ava');
    for (let i = 0; i < 6; i++) {
      now += 2 * 60_000;
      if (i < 4) expect(await store.read(busy), `use ${i}`).toBeDefined();
    }
    expect(await store.read(busy)).toBeUndefined();
  });

  it(`keeps the session ${kind === 'redis' ? 'in Redis with a TTL, never the token itself' : 'in this process'}`, async () => {
    const store = make({ maxAgeMs: 60_000 });
    const token = await store.create('carol');
    if (kind !== 'redis') return expect(await store.read(token)).toBeDefined();
    const keys: string[] = [];
    for (const k of await redis.keys(`${prefix}:*:session:*`)) if ((await redis.get(k))?.includes('"carol"')) keys.push(k);
    expect(keys).toHaveLength(1);
    for (const k of keys) {
      expect(k).not.toContain(token);
      expect(await redis.pttl(k)).toBeGreaterThan(0);
    }
  });
});

describe('sessions on an unreachable Redis', () => {
  it('answer from the copy this process read, within the timeout; a session it ended stays ended; an unseen one is refused', async () => {
    const shared = createSessionStore({ client: () => redis, prefix: `${prefix}:outage`, maxAgeMs: 60_000 });
    const seen = await shared.create('dora');
    const ended = await shared.create('dora');
    const unseen = await shared.create('eli');
    const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    let client: Redis = redis;
    const store = createSessionStore({ client: () => client, prefix: `${prefix}:outage`, maxAgeMs: 60_000, timeoutMs: 200 });
    expect(await store.read(seen)).toMatchObject({ subject: 'dora' });
    expect(await store.read(ended)).toMatchObject({ subject: 'dora' });
    await store.end(ended);
    client = dead;
    const started = Date.now();
    expect(await store.read(seen)).toMatchObject({ subject: 'dora' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await store.read(ended)).toBeUndefined();
    expect(await store.read(unseen)).toBeUndefined();
    dead.disconnect();
  });
});

describe('sessions after a sign-out on another instance, with Redis then stopped', () => {
  it('a copy answers only while Redis confirmed it within outageGraceMs; 0 fails closed', { timeout: 60_000 }, async () => {
    const server = await startServer();
    const client = new Redis({ port: server.port, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500 });
    client.on('error', () => undefined);
    try {
      await new Promise((resolve) => client.once('ready', resolve));
      let now = 1_000_000;
      const o = { client: () => client, prefix: `${prefix}:grace`, maxAgeMs: 3_600_000, timeoutMs: 200, now: () => now };
      const here = createSessionStore({ ...o, outageGraceMs: 60_000 });
      const closed = createSessionStore({ ...o, outageGraceMs: 0 });
      const elsewhere = createSessionStore(o);
      const signedOut = await elsewhere.create('fay');
      const kept = await elsewhere.create('gus');
      for (const t of [signedOut, kept]) {
        expect(await here.read(t)).toMatchObject({ subject: expect.any(String) as string });
        expect(await closed.read(t)).toBeDefined();
      }
      // another instance signs fay out; then Redis goes away before this one reads again
      await elsewhere.end(signedOut);
      await server.stop();
      now += 30_000;
      expect(await here.read(kept)).toMatchObject({ subject: 'gus' });
      // the outage hides the sign-out for at most the window...
      expect(await here.read(signedOut)).toMatchObject({ subject: 'fay' });
      expect(await closed.read(kept)).toBeUndefined();
      now += 30_001;
      // ...then neither copy answers, though neither session would have expired yet
      expect(await here.read(signedOut)).toBeUndefined();
      expect(await here.read(kept)).toBeUndefined();
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('defaults to a 5 minute window', async () => {
    let now = 1_000_000;
    const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    let client: Redis = redis;
    const store = createSessionStore({ client: () => client, prefix: `${prefix}:grace-default`, maxAgeMs: 3_600_000, timeoutMs: 200, now: () => now });
    const token = await store.create('hal');
    client = dead;
    now += 5 * 60_000 - 1;
    expect(await store.read(token)).toMatchObject({ subject: 'hal' });
    now += 1;
    expect(await store.read(token)).toBeUndefined();
    dead.disconnect();
  });
});

describe('the sessions this process keeps', () => {
  it('are at most maxLocal, the least recently used dropped first (in memory, that session ends)', async () => {
    const store = createSessionStore({ prefix, maxAgeMs: 60_000, maxLocal: 3 });
    const [a, b, c] = [await store.create('a'), await store.create('b'), await store.create('c')];
    expect(await store.read(a)).toBeDefined(); // a is now the most recently used: b goes next
    const d = await store.create('d');
    expect(await store.read(b)).toBeUndefined();
    for (const t of [a, c, d]) expect(await store.read(t)).toBeDefined();
    // a dropped session is no longer counted under its subject
    expect(await store.endAll('b')).toBe(0);
  });

  it('stay bounded under the default cap of 10,000 (memory)', async () => {
    const store = createSessionStore({ prefix, maxAgeMs: 60_000 });
    const first = await store.create('first');
    const later: string[] = [];
    for (let i = 0; i < 10_000; i++) later.push(await store.create(`s${i % 50}`));
    expect(await store.read(first)).toBeUndefined();
    expect(await store.read(later[0])).toBeDefined();
    expect(await store.read(later.at(-1))).toBeDefined();
  });

  it('on Redis, bound only the copies for an outage: a dropped copy is read from Redis again', async () => {
    const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    let client: Redis = redis;
    const store = createSessionStore({ client: () => client, prefix: `${prefix}:cap`, maxAgeMs: 60_000, timeoutMs: 200, maxLocal: 2 });
    const [a, b, c] = [await store.create('a'), await store.create('b'), await store.create('c')];
    expect(await store.read(a)).toMatchObject({ subject: 'a' }); // from Redis; b is dropped
    client = dead;
    expect(await store.read(b)).toBeUndefined();
    expect(await store.read(a)).toMatchObject({ subject: 'a' });
    expect(await store.read(c)).toMatchObject({ subject: 'c' });
    dead.disconnect();
  });
});

describe('sessions through the limiter function (RATE_LIMIT_LAMBDA), as on Amplify', () => {
  it('a session made on one app instance is read, ended and revoked from another; keys outside the sessions prefix are refused', async () => {
    // the function as @airl/infra deploys it: the Redis store, and sessions under `<prefix>-sessions:`
    const p = `${prefix}-fn${randomUUID().slice(0, 6)}`;
    const handler = createLambdaStoreHandler({ store: createRedisStore({ client: redis, prefix: p }), sessions: { prefix: `${p}-sessions:`, client: redis } });
    const endpoint = await startInvokeEndpoint({ limiter: handler });
    // two app instances: their own Lambda clients and limiters, no Redis client of their own
    const instances = [0, 1].map(() => {
      const lambdaClient = new LambdaClient({ ...dummyAws, endpoint: endpoint.url, maxAttempts: 1 });
      const limiters = createLimiters({ ...limitersConfigFromEnv({ RATE_LIMIT_LAMBDA: 'limiter', AWS_REGION: 'us-east-1', RATE_LIMIT_PREFIX: p }), lambdaClient });
      // as apps/web does (createWebSessions)
      const sessions = createSessionStore({ client: () => limiters.sessionClient()!, prefix: `${p}-sessions:web`, maxAgeMs: 60_000, idleMs: 30_000 });
      return { lambdaClient, limiters, sessions };
    });
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    try {
      expect(a.limiters.storage).toBe('lambda');
      expect(a.limiters.client()).toBeUndefined();
      const t1 = await a.sessions.create('alice');
      const t2 = await a.sessions.create('alice');
      const t3 = await a.sessions.create('bob');
      expect(await a.sessions.read(t1)).toMatchObject({ subject: 'alice' });
      expect(await b.sessions.read(t1)).toMatchObject({ subject: 'alice' });
      expect(await redis.keys(`${p}-sessions:web:session:*`)).toHaveLength(3);
      // sign-out on B: A, which holds a copy, no longer opens it
      await b.sessions.end(t1);
      expect(await a.sessions.read(t1)).toBeUndefined();
      // "sign out everywhere" on B: A's other session of alice ends, bob's does not
      expect(await b.sessions.endAll('alice')).toBe(1);
      expect(await a.sessions.read(t2)).toBeUndefined();
      expect(await a.sessions.read(t3)).toMatchObject({ subject: 'bob' });
      // a session store whose prefix the function does not serve gets a typed refusal, writes nothing
      const outside = createSessionStore({ client: () => a.limiters.sessionClient()!, prefix: `${p}:web`, maxAgeMs: 60_000 });
      const refused = await outside.create('mallory').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RateLimitStoreError);
      expect((refused as Error).message).toMatch(/BAD_REQUEST: invalid request: ops\.0\.key: sessionSet is allowed only on keys under the sessions prefix/);
      expect(await redis.keys(`${p}:web*`)).toEqual([]);
    } finally {
      for (const i of instances) {
        await i.limiters.close();
        i.lambdaClient.destroy();
      }
      await endpoint.close();
    }
  });
});

describe('credentialFingerprint', () => {
  it('differs for different secrets and never contains the secret', () => {
    const a = credentialFingerprint('$argon2id$v=19$m=19456,t=2,p=1$a$b');
    expect(a).not.toBe(credentialFingerprint('$argon2id$v=19$m=19456,t=2,p=1$a$c'));
    expect(a).not.toContain('argon2');
    expect(a).toHaveLength(22);
  });
});
