// The Lambda path end to end, beyond the shared suites (conformance and anomaly run through it
// too): the real AWS SDK client -> a local endpoint speaking Lambda's Invoke API -> the real
// handler -> the real Redis store on real Redis servers. Batching, exactness across app
// instances, controls reaching other instances, validation, and every way it can fail answered by
// the plan's failure policy without leaking Redis's or the function's own text.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, describe, expect, it } from 'vitest';

import { dummyAws } from '@airl/vitest-config/lambda-endpoint';
import { rawCommand, startServer } from '@airl/vitest-config/redis';

import { createRateLimitAdmin } from '../src/admin';
import { createRateLimiter, type RateLimitEvent, RateLimitConfigError, RateLimitStoreError } from '../src/index';
import { createLambdaStore } from '../src/lambda';
import { createLambdaStoreHandler } from '../src/lambda-handler';
import { createRedisClient, createRedisStore } from '../src/redis';
import { addFunction, invokeEndpoint, lambdaClient, makeLambdaStore } from './fixtures/lambda';
import { client, prefix } from './fixtures/stores';
import { policyPlans } from './fixtures/plans';

const plans = policyPlans(100);
type Plan = keyof typeof plans;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const decode = (p: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(p)) as Record<string, unknown>;

describe('through the Lambda store', () => {
  it('sends the checks of one tick in one invocation, and allows exactly the limit across four app instances', async () => {
    const backend = createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s' });
    const functionName = addFunction(createLambdaStoreHandler({ store: backend }));
    // four app instances, each with its own store and limiter, one function and one Redis behind them
    const limiters = Array.from({ length: 4 }, () =>
      createRateLimiter<Plan>({ plans, store: createLambdaStore({ functionName, client: lambdaClient(), timeout: '20 s' }), logger: false, topConsumers: false }),
    );
    cleanup.push(() => Promise.all(limiters.map((l) => l.close())));
    // each instance's first call loads the controls: done before, so the burst below is one tick
    // however long that load takes on a loaded machine
    await Promise.all(limiters.map((l) => l.peek('warm-up', { plan: 'closed' })));
    const before = (await invokeEndpoint()).events.get(functionName)?.length ?? 0;
    const results = await Promise.all(limiters.flatMap((l) => Array.from({ length: 100 }, () => l.check('one-key', { plan: 'closed' }))));
    expect(results.filter((r) => r.allowed)).toHaveLength(100);
    expect(results.filter((r) => !r.allowed && r.deniedBy === 'minute' && !r.degraded)).toHaveLength(300);
    const events = (await invokeEndpoint()).events.get(functionName)!.slice(before);
    // 100 checks per instance in one tick: at most 64 per invocation, so 2 invocations each
    const evaluates = events.map((e) => (e as { ops: { op: string }[] }).ops.filter((o) => o.op === 'evaluate').length).filter((n) => n > 0);
    expect(evaluates.reduce((a, b) => a + b, 0)).toBe(400);
    expect(evaluates.length).toBeLessThanOrEqual(8);
    expect(Math.max(...evaluates)).toBe(64);
  });

  it("brings an admin's block to another app instance by polling, without Redis pub/sub", async () => {
    const backend = createRedisStore({ client: client('redis'), prefix: prefix(), timeout: '20 s' });
    const functionName = addFunction(createLambdaStoreHandler({ store: backend }));
    const make = () => createLambdaStore({ functionName, client: lambdaClient(), timeout: '20 s', listenInterval: '200 ms' });
    // the periodic reload is an hour away: only the polling can bring the block
    const a = createRateLimiter<Plan>({ plans, store: make(), logger: false, controls: { refresh: '1 h' } });
    const b = createRateLimiter<Plan>({ plans, store: make(), logger: false, controls: { refresh: '1 h' } });
    cleanup.push(() => Promise.all([a.close(), b.close()]));
    expect((await b.check('creator-x', { plan: 'closed' })).allowed).toBe(true);
    await createRateLimitAdmin(a).block('creator-x', { for: '1 h', actor: 'admin@example.com', reason: 'test' });
    const deadline = Date.now() + 15_000;
    let seenAfter = -1;
    while (Date.now() < deadline) {
      const r = await b.check('creator-x', { plan: 'closed' });
      if (!r.allowed && r.deniedBy === 'blocked') {
        seenAfter = Date.now();
        break;
      }
      await sleep(50);
    }
    expect(seenAfter).toBeGreaterThan(0);
  });
});

describe('the handler refuses bad requests whole, and writes nothing', () => {
  const limit = { name: 'minute', unit: 'requests', algorithm: 'sliding-log', code: 1, limit: 10, windowMs: 60_000, ttlMs: 60_000 };
  const evaluate = { op: 'evaluate', identifier: 'c', limits: [limit], costs: [1], mode: 'check', now: null, reservationTtlMs: 600_000, stateTtlMs: 60_000 };
  const cases: [string, unknown, RegExp][] = [
    ['another wire version', { v: 2, ops: [evaluate] }, /version 2 is not spoken here.*version 1/],
    ['no version', { ops: [evaluate] }, /version missing/],
    ['not an object', 'check c', /version missing/],
    ['an unknown operation', { v: 1, ops: [evaluate, { op: 'flushall' }] }, /ops\.1\.op/],
    ['a limit name that would break the key', { v: 1, ops: [{ ...evaluate, limits: [{ ...limit, name: 'a}b' }] }] }, /ops\.0\.limits\.0\.name/],
    ['a negative cost', { v: 1, ops: [{ ...evaluate, costs: [-5] }] }, /ops\.0\.costs\.0/],
    ['an unknown field', { v: 1, ops: [{ ...evaluate, script: 'return 1' }] }, /script/],
    ['no operations', { v: 1, ops: [] }, /ops/],
  ];
  it.each(cases)('%s', async (_, payload, message) => {
    const keyPrefix = prefix();
    const functionName = addFunction(createLambdaStoreHandler({ store: createRedisStore({ client: client('redis'), prefix: keyPrefix }) }));
    const out = await lambdaClient().send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify(payload)) }));
    expect(out.FunctionError).toBeUndefined();
    const body = decode(out.Payload);
    expect(body).toMatchObject({ v: 1, error: { code: 'BAD_REQUEST' } });
    expect((body.error as { message: string }).message).toMatch(message);
    expect(await client('redis').keys(`${keyPrefix}*`)).toEqual([]);
  });

  it('a store that cannot be set up (the secret unreadable at a cold start) fails that invocation, and is tried again on the next', async () => {
    let attempts = 0;
    const failures: string[] = [];
    const handler = createLambdaStoreHandler({
      store: () => {
        if (++attempts === 1) throw new Error('AccessDeniedException: not allowed to read arn:aws:secretsmanager:...:secret:token');
        return createRedisStore({ client: client('redis'), prefix: prefix() });
      },
      onError: (f) => failures.push(`${f.op}: ${(f.error as Error).message}`),
    });
    const request = { v: 1, ops: [{ op: 'controls' }, { op: 'control', identifier: 'x' }] };
    expect(await handler(request)).toEqual({
      v: 1,
      results: [0, 1].map(() => ({ ok: false, error: { code: 'STORE_UNAVAILABLE', message: 'the function could not set up its Redis store; see its logs' } })),
    });
    expect(failures).toEqual([expect.stringMatching(/^start: AccessDeniedException/)]);
    expect(await handler(request)).toEqual({ v: 1, results: [{ ok: true, value: [] }, { ok: true, value: null }] });
    expect(attempts).toBe(2);
  });

  it('and the Lambda store turns a refusal into a RateLimitStoreError naming it', async () => {
    // a function of another release: it speaks wire version 2
    const functionName = addFunction(() => Promise.resolve({ v: 2, error: { code: 'BAD_REQUEST', message: 'wire version 1 is not spoken here' } }));
    const store = createLambdaStore({ functionName, client: lambdaClient() });
    const error = await store.control('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect((error as Error).message).toMatch(/refused control: BAD_REQUEST: wire version 1 is not spoken here/);
  });
});

describe('every failure is a store error, answered by the plan policy', () => {
  /** One limiter per case; returns what each plan answered, and the store errors seen. */
  async function answers(store: ReturnType<typeof createLambdaStore>) {
    const events: RateLimitEvent[] = [];
    const limiter = createRateLimiter<Plan>({ plans, store, logger: false, onEvent: (e) => events.push(e), storeRetryAfter: '10 ms', controls: false, topConsumers: false });
    cleanup.push(() => limiter.close());
    const out: Record<Plan, unknown> = { fallback: undefined, open: undefined, closed: undefined };
    for (const plan of ['fallback', 'open', 'closed'] as const) {
      await sleep(20); // past storeRetryAfter: each plan's call tries the store
      const r = await limiter.check('creator-1', { plan });
      out[plan] = { allowed: r.allowed, degraded: r.degraded };
    }
    const errors = events.flatMap((e) => (e.type === 'store-error' ? [e.error] : []));
    return { out, errors };
  }
  const policies = { fallback: { allowed: true, degraded: 'fallback' }, open: { allowed: true, degraded: 'open' }, closed: { allowed: false, degraded: 'closed' } };

  it('Redis stopped behind the function: the policy answers, and no Redis text reaches the app', async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    // the client the deployed function makes (src/limiter-handler.ts in @airl/infra)
    const redis = createRedisClient({ host: server.host, port: server.port, tls: false, cluster: false, username: undefined, password: undefined });
    redis.on('error', () => undefined);
    cleanup.push(() => Promise.resolve(redis.disconnect()));
    const failures: string[] = [];
    const functionName = addFunction(
      createLambdaStoreHandler({ store: createRedisStore({ client: redis, prefix: prefix(), timeout: '500 ms' }), onError: (f) => failures.push((f.error as Error).message) }),
    );
    const store = createLambdaStore({ functionName, client: lambdaClient(), timeout: '10 s' });
    expect(await redis.ping()).toBe('PONG');
    await server.stop();
    const { out, errors } = await answers(store);
    expect(out).toEqual(policies);
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e.message).toMatch(/STORE_UNAVAILABLE: Redis failed or did not answer in time during evaluate/);
      expect(e.message).not.toMatch(/ECONNREFUSED|Connection is closed|Stream isn't writeable|127\.0\.0\.1/);
    }
    // the detail stays in the function's logs
    expect(failures.some((m) => m.includes('Redis'))).toBe(true);
  });

  it('Redis refusing the function (NOAUTH): the caller sees a store error without the server text', async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    // this test's own server: the function below has no password for it
    await rawCommand({ port: server.port }, 'CONFIG', 'SET', 'requirepass', 'local-only-pass');
    const redis = createRedisClient({ host: server.host, port: server.port, tls: false, cluster: false, username: undefined, password: undefined });
    redis.on('error', () => undefined);
    cleanup.push(() => Promise.resolve(redis.disconnect()));
    const functionName = addFunction(createLambdaStoreHandler({ store: createRedisStore({ client: redis, prefix: prefix(), timeout: '2 s' }) }));
    const out = await lambdaClient().send(
      new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify({ v: 1, ops: [{ op: 'controls' }] })) }),
    );
    const text = new TextDecoder().decode(out.Payload);
    expect(JSON.parse(text)).toEqual({ v: 1, results: [{ ok: false, error: { code: 'STORE_UNAVAILABLE', message: 'Redis failed or did not answer in time during controls' } }] });
    expect(text).not.toMatch(/NOAUTH|auth|pass/i);
    const { out: answered } = await answers(createLambdaStore({ functionName, client: lambdaClient() }));
    expect(answered).toEqual(policies);
  });

  it('the function throwing: an error naming the function, never what it threw', async () => {
    const functionName = addFunction(() => Promise.reject(new Error('secret-detail rediss://:hunter2@cache.internal:6379')));
    const { out, errors } = await answers(createLambdaStore({ functionName, client: lambdaClient() }));
    expect(out).toEqual(policies);
    expect(errors[0]!.message).toBe(`Lambda function ${functionName} failed (Unhandled) running evaluate; see its logs`);
    expect(errors.map((e) => e.message).join()).not.toMatch(/secret|hunter2/);
  });

  it('the function hanging: the deadline fails the call', async () => {
    const functionName = addFunction(() => new Promise(() => undefined));
    const store = createLambdaStore({ functionName, client: lambdaClient(), timeout: '300 ms' });
    const started = Date.now();
    const error = await store.controls().catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect((error as Error).message).toBe(`Lambda function ${functionName} did not answer controls within 300 ms`);
    // a bound, not a speed claim: the deadline fired (not the SDK's own minutes-long timeout)
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(10_000);
    const { out } = await answers(store);
    // no answer may be slowness (a cold start), not an outage: as with a slow Redis, a fallback
    // plan denies for a moment rather than hand out a fresh budget (the README's breaker rule)
    expect(out).toEqual({ ...policies, fallback: { allowed: false, degraded: 'fallback' } });
  });

  it('no endpoint listening, or no such function: store errors with the SDK error name only', async () => {
    const dead = new LambdaClient({ ...dummyAws, endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    cleanup.push(() => Promise.resolve(dead.destroy()));
    const unreachable = await answers(createLambdaStore({ functionName: 'limiter', client: dead, timeout: '5 s' }));
    expect(unreachable.out).toEqual(policies);
    expect(unreachable.errors[0]!.message).toBe('invoking Lambda function limiter for evaluate failed: ECONNREFUSED');
    const missing = await answers(createLambdaStore({ functionName: 'no-such-function', client: lambdaClient() }));
    expect(missing.out).toEqual(policies);
    expect(missing.errors[0]!.message).toBe('invoking Lambda function no-such-function for evaluate failed: ResourceNotFoundException');
  });

  it('an answer that is not the wire format is a store error, not a wrong decision', async () => {
    const functionName = addFunction(() => Promise.resolve({ v: 1, results: [{ ok: true, value: { allowed: 'yes' } }] }));
    const { out, errors } = await answers(createLambdaStore({ functionName, client: lambdaClient() }));
    expect(out).toEqual(policies);
    expect(errors[0]!.message).toMatch(/answered evaluate in an unknown format/);
  });
});

describe('configuration', () => {
  it.each([
    [{ functionName: 'has space' }, /functionName: 'has space' is not a Lambda function name or ARN/],
    [{ functionName: 'f', batch: 0 }, /batch: 0/],
    [{ functionName: 'f', batch: 1000 }, /batch: 1000/],
    [{ functionName: 'f', timeout: 'soon' }, /timeout/],
  ])('%j is refused with what to fix', (options, message) => {
    expect(() => createLambdaStore(options as never)).toThrow(RateLimitConfigError);
    expect(() => createLambdaStore(options as never)).toThrow(message);
  });

  it('signs every invocation (SigV4), for the region an ARN names when no client is given', async () => {
    const endpoint = await invokeEndpoint();
    const functionName = addFunction(createLambdaStoreHandler({ store: createRedisStore({ client: client('redis'), prefix: prefix() }) }));
    // the default client, as in an app: credentials and the endpoint from the environment
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: dummyAws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: dummyAws.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_LAMBDA: endpoint.url,
      AWS_REGION: 'us-west-2',
    });
    const store = createLambdaStore({ functionName: `arn:aws:lambda:eu-central-1:123456789012:function:${functionName}` });
    try {
      const before = endpoint.authorizations.length;
      expect(await store.controls()).toEqual(new Map());
      // other tests' clients (us-east-1) may still poll the shared endpoint: leave theirs out
      const ours = endpoint.authorizations.slice(before).filter((a) => !a?.includes('/us-east-1/'));
      expect(ours).toEqual([expect.stringMatching(/^AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST\/\d{8}\/eu-central-1\/lambda\/aws4_request, SignedHeaders=.*, Signature=[0-9a-f]{64}$/)]);
    } finally {
      await store.close();
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_ENDPOINT_URL_LAMBDA', 'AWS_REGION']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });

  it('takes names, ARNs and qualifiers', () => {
    for (const functionName of ['airl-limiter', 'airl-limiter:live', '123456789012:function:airl-limiter', 'arn:aws:lambda:us-east-1:123456789012:function:airl-limiter:3']) {
      expect(createLambdaStore({ functionName }).kind).toBe('lambda');
    }
  });

});

describe("the apps' sessions through the function: seven commands, on keys under its sessions prefix only", () => {
  const sessionsFunction = (kind: 'redis' | 'cluster', sessionsPrefix: string) =>
    addFunction(createLambdaStoreHandler({ store: createRedisStore({ client: client(kind), prefix: prefix() }), sessions: { prefix: sessionsPrefix, client: client(kind) } }));

  it.each(['redis', 'cluster'] as const)('on %s: written through one app instance, read, changed and deleted through another; one tick, one invocation', async (kind) => {
    const p = `${prefix()}-sessions:`;
    const functionName = sessionsFunction(kind, p);
    const [a, b] = [0, 1].map(() => createLambdaStore({ functionName, client: lambdaClient(), timeout: '20 s', listenInterval: false }));
    cleanup.push(() => Promise.all([a!.close(), b!.close()]));
    const key = `${p}web:session:s1`;
    const index = `${p}web:subject:alice`;
    const before = (await invokeEndpoint()).events.get(functionName)?.length ?? 0;
    await Promise.all([a!.sessions.set(key, '{"subject":"alice"}', 'PX', 60_000), a!.sessions.sadd(index, 's1', 's2'), a!.sessions.pexpire(index, 60_000)]);
    expect((await invokeEndpoint()).events.get(functionName)!.length - before).toBe(1);
    expect(await b!.sessions.get(key)).toBe('{"subject":"alice"}');
    expect((await b!.sessions.smembers(index)).sort()).toEqual(['s1', 's2']);
    expect(await client(kind).pttl(key)).toBeGreaterThan(50_000);
    // XX: only an existing key is written
    expect(await b!.sessions.set(key, '{"subject":"alice","seenAt":1}', 'PX', 60_000, 'XX')).toBe('OK');
    expect(await b!.sessions.set(`${p}web:session:gone`, '{}', 'PX', 60_000, 'XX')).toBeNull();
    expect(await client(kind).exists(`${p}web:session:gone`)).toBe(0);
    expect(await b!.sessions.srem(index, 's2')).toBe(1);
    // several keys: one operation per key (under a cluster they sit on different slots)
    expect(await b!.sessions.del(key, index, `${p}web:session:none`)).toBe(2);
    expect(await a!.sessions.get(key)).toBeNull();
  });

  const get = (key: string) => ({ op: 'sessionGet', key });
  const cases: [string, (p: string) => unknown[], RegExp][] = [
    ['a key outside the sessions prefix', () => [get('ratelimit:{creator-1}')], /ops\.0\.key: sessionGet is allowed only on keys under the sessions prefix/],
    ['a key that only starts like the prefix', (p) => [get(p.slice(0, -1))], /ops\.0\.key/],
    ['a good write, then a key outside the prefix: nothing runs', (p) => [{ op: 'sessionSet', key: `${p}web:session:x`, value: '{}', px: 60_000, xx: false }, get('other')], /ops\.1\.key/],
    ['a command outside the list', (p) => [{ op: 'sessionEval', key: `${p}x`, script: 'return 1' }], /ops\.0\.op/],
    ['a command by name', (p) => [{ op: 'session', command: 'FLUSHALL', key: `${p}x` }], /ops\.0\.op/],
    ['an extra argument', (p) => [{ op: 'sessionDel', key: `${p}x`, keys: ['other'] }], /keys/],
  ];
  it.each(cases)('refuses %s whole (BAD_REQUEST), and writes nothing', async (_, ops, message) => {
    const p = `${prefix()}-sessions:`;
    const functionName = sessionsFunction('redis', p);
    const out = await lambdaClient().send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify({ v: 1, ops: ops(p) })) }));
    const body = decode(out.Payload);
    expect(body).toMatchObject({ v: 1, error: { code: 'BAD_REQUEST' } });
    expect((body.error as { message: string }).message).toMatch(message);
    expect(await client('redis').keys(`${p}*`)).toEqual([]);
  });

  it('a function without a sessions prefix serves none; an empty prefix is a configuration error', async () => {
    const store = makeLambdaStore();
    cleanup.push(() => store.close());
    await expect(store.sessions.get('ratelimit-sessions:web:session:x')).rejects.toThrow(
      new RateLimitStoreError(`Lambda function ${store.functionName} refused sessionGet: BAD_REQUEST: invalid request: ops.0: this function serves no sessions (its handler has no sessions option)`),
    );
    expect(() => createLambdaStoreHandler({ store: createRedisStore({ client: client('redis'), prefix: prefix() }), sessions: { prefix: '', client: client('redis') } })).toThrow(RateLimitConfigError);
  });
});
