// Redis failing for real: servers started here on loopback, stopped, killed, frozen and faked
// (a port that accepts and never answers) under load.
import net from 'node:net';

import calculateSlot from 'cluster-key-slot';
import { Logger as GlideLogger } from '@valkey/valkey-glide';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';

import { rawCommand, type Server, startCluster, startServer } from '@airl/vitest-config/redis';

import { createRateLimiter, type Logger, type RateLimiter, type RateLimiterOptions, type RateLimitEvent, type RateLimitResult } from '../src/index';
import { createRedisClient, createRedisStore, glideStoreClient, type NodeRedisClient } from '../src/redis';
import { policyPlans } from './fixtures/plans';

const plans = policyPlans(100_000);
type Plan = keyof typeof plans;
const PLANS: Plan[] = ['fallback', 'open', 'closed'];
const TIMEOUT_MS = 400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Call {
  plan: Plan;
  id?: string;
  started: number;
  ms: number;
  result?: RateLimitResult;
  error?: unknown;
}

/** Calls in flight until stopped, recording every answer and how long it took. */
function load(check: (plan: Plan, id: string) => Promise<RateLimitResult>, workers = 20) {
  const calls: Call[] = [];
  let running = true;
  let n = 0;
  const done = Promise.all(
    Array.from({ length: workers }, async () => {
      while (running) {
        const plan = PLANS[n++ % PLANS.length]!;
        const started = Date.now();
        const id = `creator-${n % 500}`;
        const call: Call = { plan, id, started, ms: 0 };
        try {
          call.result = await check(plan, id);
        } catch (error) {
          call.error = error;
        }
        call.ms = Date.now() - started;
        calls.push(call);
        await sleep(2);
      }
    }),
  );
  return {
    calls,
    async stop() {
      running = false;
      await done;
    },
  };
}

function recorder() {
  const events: RateLimitEvent[] = [];
  const lines: { level: string; record: Readonly<Record<string, unknown>> }[] = [];
  const logger: Logger = {
    warn: (record) => lines.push({ level: 'warn', record }),
    error: (record) => lines.push({ level: 'error', record }),
  };
  return { events, lines, logger, onEvent: (e: RateLimitEvent) => events.push(e) };
}

const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

describe('a single Redis that goes away and comes back', () => {
  it('answers every call within its bound by each plan policy, and recovers by itself', async () => {
    let server: Server = await startServer();
    const port = server.port;
    cleanup.push(() => server.stop());
    const { events, lines, logger, onEvent } = recorder();
    const client = createRedisClient({ host: '127.0.0.1', port, tls: false, username: undefined, password: undefined, cluster: false });
    const limiter = createRateLimiter({
      plans,
      store: createRedisStore({ client: () => client, timeout: TIMEOUT_MS }),
      storeRetryAfter: '250 ms',
      logger,
      onEvent,
    });
    cleanup.push(() => limiter.close().then(() => client.quit()));
    const unhandledBefore = unhandled.length;

    const running = load((plan, id) => limiter.check(id, { plan }));
    await sleep(1500);
    const killedAt = Date.now();
    await server.kill();
    await sleep(2500);
    const restartedAt = Date.now();
    server = await startServer({ port });
    // wait for normal service on every plan
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const recent = running.calls.filter((c) => c.started > Date.now() - 500);
      if (recent.length > 30 && recent.every((c) => c.result && !c.result.degraded)) break;
      await sleep(100);
    }
    await running.stop();
    const { calls } = running;

    expect(calls.filter((c) => c.error)).toEqual([]);
    expect(unhandled.length - unhandledBefore).toBe(0);
    // no call waited past the store's bound (plus scheduling slack on a loaded machine)
    expect(Math.max(...calls.map((c) => c.ms))).toBeLessThan(TIMEOUT_MS + 1500);

    const during = calls.filter((c) => c.started > killedAt + 200 && c.started < restartedAt);
    expect(during.length).toBeGreaterThan(50);
    for (const c of during) {
      if (!c.result!.degraded) continue; // a call can still be answered from the deny cache
      if (c.plan === 'open') expect(c.result).toMatchObject({ allowed: true, degraded: 'open' });
      if (c.plan === 'closed') expect(c.result).toMatchObject({ allowed: false, degraded: 'closed', deniedBy: 'store-unavailable' });
      if (c.plan === 'fallback') expect(c.result).toMatchObject({ allowed: true, degraded: 'fallback' });
    }
    expect(during.filter((c) => c.result!.degraded).length).toBeGreaterThan(during.length * 0.9);

    const after = calls.filter((c) => c.started > restartedAt);
    for (const plan of PLANS) expect(after.some((c) => c.plan === plan && c.result && !c.result.degraded)).toBe(true);

    const modes = events.filter((e) => e.type === 'failure-mode');
    expect(modes[0]).toMatchObject({ active: true, mode: 'fallback' });
    expect(modes.at(-1)).toMatchObject({ active: false });
    expect(events.some((e) => e.type === 'store-error')).toBe(true);
    expect(lines.some((l) => l.level === 'error' && String(l.record.msg).includes('store unavailable'))).toBe(true);
    expect(lines.some((l) => l.level === 'warn' && String(l.record.msg).includes('available again'))).toBe(true);
    // store errors are logged at a bounded rate, not once per call
    expect(lines.length).toBeLessThan(10);
    const outage = (Date.now() - killedAt) / 1000;
    process.stdout.write(`redis outage: ${during.length} calls during ${outage.toFixed(1)} s, slowest call ${Math.max(...calls.map((c) => c.ms))} ms\n`);
  });

  it.each([
    ['eval', 'SCRIPT'],
    ['functions', 'FUNCTION'],
  ] as const)('reloads its Lua (%s) after %s FLUSH', async (scripts, command) => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const client = new Redis({ port: server.port });
    const limiter = createRateLimiter({ plans, store: createRedisStore({ client, scripts }), logger: false });
    cleanup.push(() => limiter.close().then(() => client.quit()));
    expect((await limiter.check('a', { plan: 'closed' })).degraded).toBeUndefined();
    await rawCommand({ port: server.port }, command, 'FLUSH');
    expect(await limiter.check('a', { plan: 'closed' })).toMatchObject({ allowed: true, degraded: undefined, remaining: 99_998 });
    const used = await rawCommand({ port: server.port }, 'INFO', 'commandstats');
    expect(used).toContain(scripts === 'eval' ? 'cmdstat_evalsha' : 'cmdstat_fcall');
  });

  it('falls back from functions to scripts where an ACL refuses FUNCTION, unless told to use functions', async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    await rawCommand({ port: server.port }, 'ACL', 'SETUSER', 'limited', 'on', '>pw', '~*', '&*', '+@all', '-function', '-fcall');
    const auto = new Redis({ port: server.port, username: 'limited', password: 'pw' });
    const strict = new Redis({ port: server.port, username: 'limited', password: 'pw' });
    const events: RateLimitEvent[] = [];
    const a = createRateLimiter({ plans, store: createRedisStore({ client: auto }), logger: false });
    const f = createRateLimiter({ plans, store: createRedisStore({ client: strict, scripts: 'functions' }), logger: false, onEvent: (e) => events.push(e) });
    cleanup.push(() => Promise.all([a.close(), f.close()]).then(() => Promise.all([auto.quit(), strict.quit()])));
    expect(await a.check('x', { plan: 'closed' })).toMatchObject({ allowed: true, degraded: undefined });
    expect(await a.check('x', { plan: 'closed' })).toMatchObject({ remaining: 99_998, degraded: undefined });
    expect(await f.check('y', { plan: 'closed' })).toMatchObject({ allowed: false, degraded: 'closed' });
    expect(events.some((e) => e.type === 'store-error' && /NOPERM|permission/i.test(e.error.message))).toBe(true);
  });
});

describe('a Redis Cluster with replicas', () => {
  it('keeps working when a master dies (failover), and through a live slot migration (MOVED, ASK)', { timeout: 120_000 }, async () => {
    const cluster = await startCluster({ masters: 3, replicas: 1 });
    cleanup.push(() => cluster.stop());
    const client = new Cluster(cluster.nodes, { redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 }, retryDelayOnFailover: 200 });
    client.on('error', () => undefined);
    const { events, logger, onEvent } = recorder();
    const limiter = createRateLimiter({ plans, store: createRedisStore({ client, timeout: '1 s' }), storeRetryAfter: '300 ms', logger, onEvent });
    cleanup.push(() => limiter.close().then(() => client.quit()));

    const running = load((plan, id) => limiter.check(id, { plan: 'fallback' }).then((r) => (plan ? r : r)));
    await sleep(1000);
    // the first servers are the masters (redis-cli --cluster create assigns them first)
    const killedAt = Date.now();
    await cluster.servers[0]!.kill();
    const deadline = Date.now() + 30_000;
    let recoveredAt = 0;
    while (Date.now() < deadline) {
      await sleep(100);
      const recent = running.calls.filter((c) => c.started > Date.now() - 700);
      // recovered: answers from Redis again, and the failure mode announced over (the dead
      // master's breaker is retired by a later call once the client has learnt the new slots)
      const ended = events.some((e) => e.type === 'failure-mode' && !e.active) || !running.calls.some((c) => c.result?.degraded);
      if (Date.now() - killedAt > 1000 && recent.length > 50 && recent.every((c) => c.result && !c.result.degraded) && ended) {
        recoveredAt = Date.now();
        break;
      }
    }
    await running.stop();
    expect(recoveredAt).toBeGreaterThan(0);
    expect(running.calls.filter((c) => c.error)).toEqual([]);
    expect(Math.max(...running.calls.map((c) => c.ms))).toBeLessThan(1000 + 2000);
    const degraded = running.calls.filter((c) => c.result?.degraded);
    const gap = degraded.length ? Math.max(...degraded.map((c) => c.started)) - killedAt : 0;
    process.stdout.write(`cluster failover: ${degraded.length} calls answered by the fallback, last one ${gap} ms after the master died\n`);
    expect(events.some((e) => e.type === 'failure-mode' && !e.active) || degraded.length === 0).toBe(true);

    // live migration of one identifier's slot to another master: ASK for keys not yet moved
    const store = limiter.store as ReturnType<typeof createRedisStore>;
    const masters = client.nodes('master');
    const id = 'migrating-creator';
    for (let i = 0; i < 5; i++) await limiter.check(id, { plan: 'closed' });
    const key = store.keys(id).log('minute');
    const slot = Number(await masters[0]!.call('CLUSTER', 'KEYSLOT', key));
    const owner = async () => {
      for (const m of client.nodes('master')) {
        const keys = (await m.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))) as number;
        const info = String(await m.call('CLUSTER', 'MYID'));
        const slots = (await m.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
        if (slots.some(([from, to, [, port, nodeId]]) => slot >= from && slot <= to && nodeId === info && port === Number(m.options.port))) return { m, id: info, keys };
      }
      throw new Error(`no master owns slot ${slot}`);
    };
    const source = await owner();
    const target = client.nodes('master').find((m) => m !== source.m && m.status === 'ready')!;
    const targetId = String(await target.call('CLUSTER', 'MYID'));
    await target.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id);
    await source.m.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);
    // while its keys are still on the source, the source answers
    expect(await limiter.check(id, { plan: 'closed' })).toMatchObject({ allowed: true, degraded: undefined, remaining: 100_000 - 6 });
    // move the keys: the source now answers ASK and the target serves them (after ASKING)
    for (;;) {
      const keys = (await source.m.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
      if (keys.length === 0) break;
      await source.m.call('MIGRATE', '127.0.0.1', String(target.options.port), '', '0', '5000', 'KEYS', ...keys);
    }
    expect(await limiter.check(id, { plan: 'closed' })).toMatchObject({ allowed: true, degraded: undefined, remaining: 100_000 - 7 });
    // hand the slot over: the old owner answers MOVED; usage came along with the keys
    for (const m of client.nodes('all')) await m.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId).catch(() => undefined);
    expect(await limiter.check(id, { plan: 'closed' })).toMatchObject({ allowed: true, degraded: undefined, remaining: 100_000 - 8 });
    expect(Number(await target.call('EXISTS', key))).toBe(1);
  });
});

const HUNG_TIMEOUT_MS = 1000;

/** A server on loopback that accepts connections and never answers (closed after the test); its port. */
async function hungServer(): Promise<number> {
  const sockets = new Set<net.Socket>();
  const hung = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => hung.close(resolve));
  });
  return (hung.address() as net.AddressInfo).port;
}

describe('one deadline per call, and breakers that need evidence', () => {
  it('a server that accepts connections and never answers: every call answers within its timeout (+ 500 ms slack)', async () => {
    const port = await hungServer();
    const timeoutMs = 1000;
    const client = createRedisClient({ host: '127.0.0.1', port, tls: false, username: undefined, password: undefined, cluster: false });
    const { events, logger, onEvent } = recorder();
    // controls on (the default): the first call also loads them; the deadline covers both
    const limiter = createRateLimiter({ plans, store: createRedisStore({ client: () => client, timeout: timeoutMs }), storeRetryAfter: '500 ms', logger, onEvent });
    cleanup.push(() => limiter.close().then(() => client.disconnect()));
    const running = load((plan, id) => limiter.check(id, { plan }), 10);
    await sleep(4000);
    await running.stop();
    const { calls } = running;
    const worst = Math.max(...calls.map((c) => c.ms));
    process.stdout.write(`hung server: ${calls.length} calls, slowest ${worst} ms with a ${timeoutMs} ms timeout\n`);
    expect(calls.filter((c) => c.error)).toEqual([]);
    expect(calls.length).toBeGreaterThan(20);
    expect(worst).toBeLessThanOrEqual(timeoutMs + 500);
    // the connection never became ready: the breaker opened, and calls stopped waiting
    expect(events.some((e) => e.type === 'failure-mode' && e.active)).toBe(true);
    expect(calls.filter((c) => c.ms < 200).length).toBeGreaterThan(calls.length / 2);
  });

  /** The first check of a limiter with `options` against a hung server (1 s timeout): its result and time. */
  async function firstCheckOnHungServer(what: string, options: Pick<RateLimiterOptions<'p'>, 'shared' | 'livePlans'>) {
    const port = await hungServer();
    // the client's own timeouts out of the way: only the limiter's deadline bounds the calls
    const client = createRedisClient({ host: '127.0.0.1', port, tls: false, username: undefined, password: undefined, cluster: false }, { commandTimeout: 30_000, connectTimeout: 30_000 });
    const limiter = createRateLimiter({
      plans: { p: { limits: [{ name: 'm', limit: 100, window: '1 m' }] } },
      ...options,
      store: createRedisStore({ client: () => client, timeout: HUNG_TIMEOUT_MS }),
      controls: false,
      topConsumers: false,
      logger: false,
    });
    cleanup.push(() => limiter.close().then(() => client.disconnect()));
    const started = performance.now();
    const first = await limiter.check('creator-1', { plan: 'p' });
    const ms = performance.now() - started;
    process.stdout.write(`hung server, ${what}: first check ${Math.round(ms)} ms with a ${HUNG_TIMEOUT_MS} ms timeout\n`);
    return { first, ms };
  }

  it('with a shared budget, a check (creator then budget) still answers within one timeout on a hung server', async () => {
    const { first, ms } = await firstCheckOnHungServer('shared budget', { shared: { provider: { limits: [{ name: 'provider-requests', limit: 1000, window: '1 m' }] } } });
    expect(first.degraded).toBeDefined();
    // one timeout (+ scheduling slack on a loaded machine), not one per limiter it calls
    expect(ms).toBeLessThanOrEqual(HUNG_TIMEOUT_MS + 400);
  });

  it('with live plans (as the apps run), the first check, which also loads the stored plans, answers within one timeout on a hung server', async () => {
    const { first, ms } = await firstCheckOnHungServer('live plans', { livePlans: true });
    expect(first.degraded).toBeDefined();
    expect(ms).toBeLessThanOrEqual(HUNG_TIMEOUT_MS + 400);
  });

  it('a late success from a call sent before the breaker opened does not close it', async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const client = createRedisClient({ host: '127.0.0.1', port: server.port, tls: false, username: undefined, password: undefined, cluster: false });
    const { events, logger, onEvent } = recorder();
    const limiter = createRateLimiter({
      plans,
      store: createRedisStore({ client: () => client, timeout: '2 s' }),
      // opens after 3 failures in a row of calls sent over 500 ms, even on a live connection
      breaker: { failures: 3, downAfter: '500 ms' },
      storeRetryAfter: '30 s',
      controls: false,
      topConsumers: false,
      logger,
      onEvent,
    });
    cleanup.push(() => limiter.close().then(() => client.quit().catch(() => client.disconnect())));
    expect((await limiter.check('warm-up', { plan: 'fallback' })).degraded).toBeUndefined();

    // a frozen server: the connection stays up, nothing answers
    process.kill(server.pid!, 'SIGSTOP');
    cleanup.push(() => Promise.resolve(process.kill(server.pid!, 'SIGCONT')));
    const early = [1, 2, 3].map(() => limiter.check('b', { plan: 'fallback' }));
    await sleep(600);
    // sent 600 ms after the first three: when it fails, failures sent over 500 ms open the breaker
    const opener = limiter.check('b', { plan: 'fallback' });
    await sleep(900);
    const late = limiter.check('a', { plan: 'fallback' });
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.type === 'failure-mode' && e.active) && Date.now() < deadline) await sleep(20);
    expect(events.some((e) => e.type === 'failure-mode' && e.active)).toBe(true);
    // the server wakes up: the call sent before the breaker opened succeeds, late
    process.kill(server.pid!, 'SIGCONT');
    const a = await late;
    await Promise.all([...early, opener]);
    expect(a).toMatchObject({ allowed: true, degraded: undefined });
    // ... and does not close the breaker: the next call is still answered by the fallback, at once
    const started = Date.now();
    expect(await limiter.check('c', { plan: 'fallback' })).toMatchObject({ allowed: true, degraded: 'fallback' });
    expect(Date.now() - started).toBeLessThan(500);
    expect(events.filter((e) => e.type === 'failure-mode' && !e.active)).toEqual([]);
  });
});

describe('a breaker after a quiet spell', () => {
  it('idle time is not failure: calls that time out on a connected store after a pause are slow, not an outage, until failing calls span downAfter', async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const client = createRedisClient({ host: '127.0.0.1', port: server.port, tls: false, username: undefined, password: undefined, cluster: false });
    const { events, logger, onEvent } = recorder();
    const limiter = createRateLimiter({
      plans,
      store: createRedisStore({ client: () => client, timeout: 300 }),
      breaker: { failures: 3, downAfter: '1500 ms' },
      controls: false,
      topConsumers: false,
      logger,
      onEvent,
    });
    cleanup.push(() => limiter.close().then(() => client.quit().catch(() => client.disconnect())));
    expect((await limiter.check('warm-up', { plan: 'fallback' })).degraded).toBeUndefined();
    // nothing asked for longer than downAfter: that is a quiet spell, not an outage
    await sleep(2000);
    // the host stalls (the connection stays up): a burst of calls times out together
    process.kill(server.pid!, 'SIGSTOP');
    cleanup.push(() => Promise.resolve(process.kill(server.pid!, 'SIGCONT')));
    const burst = await Promise.all(Array.from({ length: 8 }, (_, i) => limiter.check(`b-${i}`, { plan: 'fallback' })));
    // each was denied, to be retried: no fallback budget, no failure mode
    for (const r of burst) expect(r).toMatchObject({ allowed: false, deniedBy: 'store-unavailable', degraded: 'fallback' });
    expect(events.filter((e) => e.type === 'failure-mode')).toEqual([]);
    // still failing over more than downAfter: now it is an outage
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.type === 'failure-mode' && e.active) && Date.now() < deadline) await limiter.check('c', { plan: 'fallback' });
    expect(events.some((e) => e.type === 'failure-mode' && e.active)).toBe(true);
    process.kill(server.pid!, 'SIGCONT');
  });
});

describe('a call of unknown outcome', () => {
  it('a check that timed out on a connected store is counted as charged: it comes off the fallback share when the outage follows', async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const client = createRedisClient({ host: '127.0.0.1', port: server.port, tls: false, username: undefined, password: undefined, cluster: false });
    const { events, logger, onEvent } = recorder();
    const limiter = createRateLimiter({
      plans: { p: { limits: [{ name: 'hour', limit: 10, window: '1 h' }] } },
      store: createRedisStore({ client: () => client, timeout: 1000 }),
      breaker: { failures: 3, downAfter: '2500 ms' },
      storeRetryAfter: '30 s',
      controls: false,
      topConsumers: false,
      denyCache: false,
      logger,
      onEvent,
    });
    cleanup.push(() => limiter.close().then(() => client.quit().catch(() => client.disconnect())));
    // connected and the scripts loaded (on a loaded machine the first call can take its timeout)
    for (let i = 0; i < 20 && (await limiter.peek('warm-up', { plan: 'p' })).degraded !== undefined; i++) await sleep(200);
    expect(await limiter.check('x', { plan: 'p' })).toMatchObject({ allowed: true, degraded: undefined, remaining: 9 });
    process.kill(server.pid!, 'SIGSTOP');
    cleanup.push(() => Promise.resolve(process.kill(server.pid!, 'SIGCONT')));
    // one at a time: slow (denied, outcome unknown) until the failures span downAfter, then the fallback
    let slow = 0;
    let admitted = 0;
    for (let i = 0; i < 20; i++) {
      const r = await limiter.check('x', { plan: 'p' });
      if (r.degraded === 'fallback' && r.deniedBy === 'store-unavailable' && !events.some((e) => e.type === 'failure-mode' && e.active)) slow++;
      else if (r.allowed) admitted++;
    }
    process.kill(server.pid!, 'SIGCONT');
    expect(events.some((e) => e.type === 'failure-mode' && e.active)).toBe(true);
    expect(slow).toBeGreaterThan(0);
    // the 9 it last saw remaining, less what it may already have charged in the slow calls
    expect(admitted).toBe(9 - slow);
  });
});

describe('a Redis Cluster losing one master', () => {
  it('only the identifiers on its shard see the failure policy; the other shards go on as normal', { timeout: 120_000 }, async () => {
    // as a managed cluster runs: the healthy shards keep serving while one has no master (with
    // Redis's default, `yes`, every shard refuses commands from the failure's detection until
    // the failover, and every identifier sees the policy then: that is the server's choice)
    const cluster = await startCluster({ masters: 3, replicas: 1, args: ['--cluster-require-full-coverage', 'no'] });
    cleanup.push(() => cluster.stop());
    const client = new Cluster(cluster.nodes, { redisOptions: { commandTimeout: 1000, maxRetriesPerRequest: 1 }, retryDelayOnFailover: 200 });
    client.on('error', () => undefined);
    const { events, logger, onEvent } = recorder();
    const store = createRedisStore({ client, timeout: '1 s' });
    const limiter = createRateLimiter({ plans, store, storeRetryAfter: '300 ms', logger, onEvent });
    cleanup.push(() => limiter.close().then(() => client.quit()));
    await limiter.check('warm-up', { plan: 'closed' });

    // the first servers are the masters (redis-cli --cluster create assigns them first)
    const victim = `127.0.0.1:${cluster.servers[0]!.port}`;
    const shardAtKill = new Map<string, string>();
    // where each identifier lives, as the client routes it: the master of its keys' slot
    for (let i = 0; i < 500; i++) shardAtKill.set(`creator-${i}`, client.slots[calculateSlot(store.keys(`creator-${i}`).state)]![0]!);
    expect(new Set(shardAtKill.values()).size).toBe(3);
    // 'closed' plans: a call sent to the failure policy is denied, the worst a creator can see
    const running = load((_, id) => limiter.check(id, { plan: 'closed' }));
    await sleep(1000);
    const killedAt = Date.now();
    await cluster.servers[0]!.kill();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      await sleep(100);
      const recent = running.calls.filter((c) => c.started > Date.now() - 700);
      if (Date.now() - killedAt > 1000 && recent.length > 50 && recent.every((c) => c.result && !c.result.degraded)) break;
    }
    await running.stop();
    const after = running.calls.filter((c) => c.started >= killedAt);
    const others = after.filter((c) => c.id !== undefined && shardAtKill.get(c.id) !== victim);
    const victims = after.filter((c) => c.id !== undefined && shardAtKill.get(c.id) === victim);
    const degradedOthers = others.filter((c) => c.result?.degraded);
    const degradedVictims = victims.filter((c) => c.result?.degraded);
    process.stdout.write(
      `cluster master killed: ${degradedVictims.length} of ${victims.length} calls on its shard answered by the policy, ` +
        `${degradedOthers.length} of ${others.length} on the other shards; slowest call ${Math.max(...running.calls.map((c) => c.ms))} ms\n`,
    );
    expect(running.calls.filter((c) => c.error)).toEqual([]);
    expect(others.length).toBeGreaterThan(100);
    expect(degradedOthers).toEqual([]);
    // the dead master's identifiers did go to the policy, and came back after the failover
    expect(degradedVictims.length).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'failure-mode' && e.active && e.shard === victim)).toBe(true);
    expect(events.some((e) => e.type === 'failure-mode' && !e.active && e.shard === victim)).toBe(true);
  });
});

/**
 * Checks until one is answered by the store (at most 10 s): on a loaded machine a new client's
 * first connection and library load can take longer than a test's short timeout, which is not what
 * these tests are about.
 */
async function warmUp(limiter: RateLimiter<'p'>) {
  for (let i = 0; i < 100 && (await limiter.check('warm-up', { plan: 'p' })).degraded !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
}

describe('through node-redis', () => {
  it('a stopped server: every call fails within the timeout, the breaker sees it down', async () => {
    const { createClient } = await import('redis');
    const server = await startServer();
    const client = createClient({ url: `redis://${server.host}:${server.port}`, socket: { reconnectStrategy: () => 100 } });
    client.on('error', () => undefined);
    const store = createRedisStore({ client, timeout: '300 ms' });
    try {
      const limiter = createRateLimiter({ store, plans: { p: { limits: [{ name: 'm', limit: 5, window: '1 m' }] } }, logger: false, controls: false, topConsumers: false });
      await warmUp(limiter);
      expect((await limiter.check('a', { plan: 'p' })).degraded).toBeUndefined();
      expect(store.connected('')).toBe(true);
      expect(store.shardOf('a')).toBe('');
      await server.stop();
      const started = performance.now();
      const failed = await limiter.check('a', { plan: 'p' });
      expect(performance.now() - started).toBeLessThan(1500);
      expect(failed.degraded).toBe('fallback');
      expect(store.connected('')).toBe(false);
      await limiter.close();
    } finally {
      await store.close();
      if (client.isOpen) client.destroy();
    }
  });

  it('on a cluster, shardOf names the master serving the identifier, and each is connected', async () => {
    const { createCluster } = await import('redis');
    const cluster = await startCluster();
    const client: NodeRedisClient = createCluster({ rootNodes: cluster.nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) });
    client.on('error', () => undefined);
    // a generous timeout: this is about shards, and a loaded machine's first connection is slow
    const store = createRedisStore({ client, timeout: '20 s' });
    try {
      await store.control('warm-up');
      const masters = new Set(cluster.nodes.map((n) => `${n.host}:${n.port}`));
      for (const id of ['a', 'b', 'c', 'd']) {
        const shard = store.shardOf(id);
        expect(masters.has(shard)).toBe(true);
        expect(store.connected(shard)).toBe(true);
        expect(store.shards().has(shard)).toBe(true);
      }
    } finally {
      await store.close();
      if (client.isOpen) await client.close();
      await cluster.stop();
    }
  });
});

describe('through Valkey GLIDE', () => {
  // GLIDE's core logs its reconnect attempts to stderr by itself
  GlideLogger.setLoggerConfig('off');
  it("a stopped server: every call fails within the timeout, in the store's words, and the store no longer says it is connected", async () => {
    const server = await startServer();
    const client = glideStoreClient({ cluster: false, config: { addresses: [{ host: server.host, port: server.port }], requestTimeout: 250 } });
    const store = createRedisStore({ client: () => client, timeout: '300 ms' });
    const events: RateLimitEvent[] = [];
    try {
      const limiter = createRateLimiter({ store, plans: { p: { limits: [{ name: 'm', limit: 5, window: '1 m' }] } }, logger: false, controls: false, topConsumers: false, onEvent: (e) => events.push(e) });
      await warmUp(limiter);
      events.length = 0;
      expect((await limiter.check('a', { plan: 'p' })).degraded).toBeUndefined();
      expect(store.connected('')).toBe(true);
      expect(store.shardOf('a')).toBe('');
      await server.stop();
      const started = performance.now();
      const failed = await limiter.check('a', { plan: 'p' });
      expect(performance.now() - started).toBeLessThan(1500);
      expect(failed.degraded).toBe('fallback');
      // the failure as the store words it, never GLIDE's own text
      const error = events.find((e) => e.type === 'store-error');
      expect(error?.type === 'store-error' && error.error.message).toMatch(/^Redis (did not answer check in time|check failed)/);
      expect(error?.type === 'store-error' && error.error.message).not.toMatch(/signalled|glide|Error:/i);
      // GLIDE shows no connection state, and its calls time out while the server is down: not known
      // to be up once GLIDE's own answer to the failed call arrives (on a loaded machine, after the
      // store's deadline has already answered the check)
      await vi.waitFor(() => expect(store.connected('')).not.toBe(true), { timeout: 5000 });
      await limiter.close();
    } finally {
      await store.close();
    }
  });

  it('on a cluster, shardOf names the master serving the identifier', async () => {
    const cluster = await startCluster();
    const store = createRedisStore({ client: () => glideStoreClient({ cluster: true, config: { addresses: cluster.nodes } }) });
    try {
      await store.control('warm-up');
      const masters = new Set(cluster.nodes.map((n) => `${n.host}:${n.port}`));
      // the slots are learnt in the background after the first call
      for (let i = 0; i < 100 && store.shards().size < 2; i++) await new Promise((r) => setTimeout(r, 20));
      for (const id of ['a', 'b', 'c', 'd']) {
        const shard = store.shardOf(id);
        expect(masters.has(shard)).toBe(true);
        expect(store.shards().has(shard)).toBe(true);
      }
      expect(new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((id) => store.shardOf(id))).size).toBeGreaterThan(1);
    } finally {
      await store.close();
      await cluster.stop();
    }
  });
});
