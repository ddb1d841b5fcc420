// Promises kept under stress, against real servers this file starts on loopback: a CPU-starved
// host (slow is not down), several instances through an outage (the fallback's shared bound),
// and instances whose clocks disagree. Each prints its numbers.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { type Server, startServer } from '@airl/vitest-config/redis';

import { createRateLimiter, type PlansConfig, type RateLimitResult } from '../src/index';
import { createRedisClient, createRedisStore } from '../src/redis';
import type { Burst, BurstReport } from './fixtures/limiter-worker';

const worker = fileURLToPath(new URL('./fixtures/limiter-worker.ts', import.meta.url));
const cleanup: (() => unknown)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Worker {
  child: ChildProcess;
  burst(b: Burst): Promise<BurstReport>;
}

/** Starts a limiter in a child process and waits until it has reached Redis. */
async function startWorker(env: Record<string, string>): Promise<Worker> {
  const child = fork(worker, { env: { ...process.env, ...env }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup.push(() => child.kill('SIGKILL'));
  const waiting: ((m: BurstReport) => void)[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`limiter worker exited with ${code}`)));
    child.on('message', (m: { type: string }) => {
      if (m.type === 'ready') resolve();
      else waiting.shift()?.(m as BurstReport);
    });
  });
  await ready;
  return {
    child,
    burst: (b) =>
      new Promise<BurstReport>((resolve) => {
        waiting.push(resolve);
        child.send(b);
      }),
  };
}

/** CPU hogs beside the test, each stopping by itself after `ms` (and killed at the end). */
function busyLoops(count: number, ms: number): () => void {
  const hogs = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' }),
  );
  const stop = () => hogs.forEach((h) => h.kill('SIGKILL'));
  cleanup.push(stop);
  return stop;
}

describe('a CPU-starved host: slow is not down', () => {
  it('8 processes x 400 concurrent checks (cost 1-5) on one identifier, limit 300 per hour, 5 busy loops beside them: at most 300 admitted', { timeout: 90_000 }, async () => {
    const server: Server = await startServer();
    cleanup.push(() => server.stop());
    const plans = { hourly: { limits: [{ name: 'hour', limit: 300, window: '1 h' }] } } satisfies PlansConfig;
    const env = { REDIS_URL: `redis://127.0.0.1:${server.port}`, PREFIX: 'starved', TIMEOUT_MS: '1000', PLANS: JSON.stringify(plans) };
    const workers = await Promise.all(Array.from({ length: 8 }, () => startWorker(env)));
    const stop = busyLoops(5, 30_000);
    await sleep(500);
    const costs = () => Array.from({ length: 400 }, (_, i) => 1 + ((i * 7) % 5));
    const reports = await Promise.all(workers.map((w) => w.burst({ id: 'creator-1', plan: 'hourly', costs: costs() })));
    stop();
    const admitted = reports.reduce((sum, r) => sum + r.admitted, 0);
    const degraded = reports.map((r) => r.degraded);
    process.stdout.write(
      `CPU-starved contention: ${admitted} admitted against a limit of 300 (${reports.map((r) => r.admitted).join(' / ')} per process), ` +
        `slowest call ${Math.max(...reports.map((r) => r.maxMs))} ms, degraded answers ${JSON.stringify(degraded)}\n`,
    );
    expect(reports.reduce((sum, r) => sum + r.calls, 0)).toBe(3200);
    expect(admitted).toBeLessThanOrEqual(300);
    // Redis was up the whole time: it answered some calls, and no call got a fallback's budget
    // (those it did not answer in time were denied, to be retried)
    const answeredByPolicy = reports.reduce((sum, r) => sum + Object.values(r.degraded).reduce((a, b) => a + b, 0), 0);
    expect(3200 - answeredByPolicy).toBeGreaterThan(0);
    expect(reports.filter((r) => Object.keys(r.degraded).some((k) => k.endsWith(':allowed')))).toEqual([]);
    for (const w of workers) w.child.send('exit');
  });
});

describe('an outage with several instances: the shared fallback', () => {
  it('3 instances under load, Redis killed: together they admit at most what each last saw remaining, shared 3 ways', { timeout: 60_000 }, async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const limit = 300;
    const plans = { hourly: { limits: [{ name: 'hour', limit, window: '1 h' }] } } satisfies PlansConfig;
    const instances = [0, 1, 2].map(() => {
      const client = createRedisClient({ host: '127.0.0.1', port: server.port, tls: false, username: undefined, password: undefined, cluster: false });
      const limiter = createRateLimiter({
        plans,
        store: createRedisStore({ client: () => client, prefix: 'outage', timeout: 400 }),
        storeRetryAfter: '300 ms',
        presence: { refresh: '200 ms' },
        controls: false,
        topConsumers: false,
        denyCache: false,
        logger: false,
      });
      cleanup.push(() => limiter.close().then(() => client.disconnect()));
      return { limiter, lastSeen: undefined as RateLimitResult | undefined, beforeOutage: 0, duringOutage: 0, calls: 0 };
    });
    let running = true;
    let outage = false;
    const loops = instances.map(async (instance) => {
      while (running) {
        const r = await instance.limiter.check('creator-1', { plan: 'hourly' });
        instance.calls++;
        if (!r.degraded) instance.lastSeen = r;
        if (r.allowed && r.degraded === 'fallback') instance.duringOutage++;
        else if (r.allowed && !outage) instance.beforeOutage++;
        await sleep(15);
      }
    });
    // long enough for every instance to count the others, and to use part of the limit
    await sleep(1500);
    outage = true;
    await server.kill();
    await sleep(2500);
    running = false;
    await Promise.all(loops);

    const before = instances.reduce((sum, i) => sum + i.beforeOutage, 0);
    const during = instances.reduce((sum, i) => sum + i.duringOutage, 0);
    // the README's bound: the sum over instances of floor(last remaining seen / 3)
    const bound = instances.reduce((sum, i) => sum + Math.floor(i.lastSeen!.remaining / 3), 0);
    process.stdout.write(
      `outage with 3 instances: ${before} admitted by Redis, then ${during} by the fallbacks (bound ${bound}; ` +
        `last remaining seen ${instances.map((i) => i.lastSeen!.remaining).join(' / ')}); ${before + during} in all against a limit of ${limit}\n`,
    );
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(limit);
    expect(during).toBeGreaterThan(0);
    expect(during).toBeLessThanOrEqual(bound);
    // what Redis admitted after an instance's last look is all that can exceed the limit
    const stalest = Math.max(...instances.map((i) => i.lastSeen!.remaining));
    expect(during).toBeLessThanOrEqual(stalest);
  });
});

describe('instances whose clocks disagree', () => {
  it("clock: 'local', one host 30 s ahead, 10 per 60 s (the issue's case): at most 10 admitted", { timeout: 90_000 }, async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const plans = { p: { limits: [{ name: 'window', limit: 10, window: '60 s' }] } } satisfies PlansConfig;
    const env = { REDIS_URL: `redis://127.0.0.1:${server.port}`, PREFIX: 'skew', TIMEOUT_MS: '2000', PLANS: JSON.stringify(plans), CLOCK: 'local' };
    const [right, ahead] = await Promise.all([startWorker(env), startWorker({ ...env, SKEW_MS: '30000' })]);
    const burst = (w: Worker, id: string) => w.burst({ id, plan: 'p', costs: Array.from({ length: 10 }, () => 1), sequential: true });
    const started = Date.now();
    // the right clock takes it all; 31 s later (its entries now look 61 s old to the fast host,
    // which on main dropped them), the fast host tries for 10 more, then the right one again
    const first = await burst(right, 'creator-1');
    await sleep(31_000);
    const second = await burst(ahead, 'creator-1');
    const third = await burst(right, 'creator-1');
    const elapsed = Date.now() - started;
    const admitted = first.admitted + second.admitted + third.admitted;
    process.stdout.write(
      `clock skew: ${first.admitted} + ${second.admitted} (30 s ahead) + ${third.admitted} admitted within ${(elapsed / 1000).toFixed(1)} s against 10 per 60 s\n`,
    );
    // every call was within one window of real time
    expect(elapsed).toBeLessThan(60_000);
    expect(first.admitted).toBe(10);
    expect(admitted).toBeLessThanOrEqual(10);
    for (const w of [right, ahead]) w.child.send('exit');
  });
});

describe("fallbackBudget: 'full', the old behaviour, on request", () => {
  it("gives each instance every limit in full during an outage, where 'shared' gives its share of what it last saw", { timeout: 30_000 }, async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const plans = { p: { limits: [{ name: 'hour', limit: 20, window: '1 h' }] } } satisfies PlansConfig;
    const make = (fallbackBudget: 'shared' | 'full') => {
      const client = createRedisClient({ host: '127.0.0.1', port: server.port, tls: false, username: undefined, password: undefined, cluster: false });
      const limiter = createRateLimiter({
        plans,
        store: createRedisStore({ client: () => client, prefix: 'budget', timeout: 400 }),
        fallbackBudget,
        presence: { refresh: '100 ms' },
        controls: false,
        logger: false,
      });
      cleanup.push(() => limiter.close().then(() => client.disconnect()));
      return limiter;
    };
    const shared = make('shared');
    const full = make('full');
    for (let i = 0; i < 4; i++) {
      await shared.check('creator-1', { plan: 'p' });
      await full.check('creator-1', { plan: 'p' });
    }
    await sleep(400); // both counted: N = 2
    const seen = await shared.check('creator-1', { plan: 'p' });
    expect(seen).toMatchObject({ allowed: true, degraded: undefined, remaining: 11 });
    await server.kill();
    const admitted = async (limiter: typeof shared) => {
      let n = 0;
      for (let i = 0; i < 30; i++) if ((await limiter.check('creator-1', { plan: 'p' })).allowed) n++;
      return n;
    };
    const [byShared, byFull] = [await admitted(shared), await admitted(full)];
    process.stdout.write(`fallback budgets: 'shared' admitted ${byShared} (floor(11 / 2)), 'full' admitted ${byFull} (the whole limit, 20)\n`);
    expect(byShared).toBe(5);
    expect(byFull).toBe(20);
  });
});
