// The faults of the reliability report, each against real servers started here on loopback, through
// the limiter's public options only (createRateLimiter, createRedisStore, createRedisClient), so the
// report measures whatever the engine does inside. Every loop is bounded in count and in time.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';

import { freePorts, startCluster, startServer } from '@airl/vitest-config/redis';

import { createRateLimitAdmin } from '../../src/admin';
import { createRateLimiter, type Duration, type PlansConfig, type RateLimiter, type RateLimitResult } from '../../src/index';
import { createRedisClient, createRedisStore, type RedisConnectionConfig } from '../../src/redis';

/** What one fault measured. */
export interface FaultResult {
  readonly id: string;
  readonly title: string;
  /** What the limiter promises under this fault, in one sentence. */
  readonly promise: string;
  /** How the fault was made. */
  readonly setup: string;
  readonly calls: number;
  /** Calls answered by the failure policy (`degraded` set). */
  readonly degraded: number;
  readonly worstMs: number;
  readonly p99Ms: number;
  /** The longest a call may take under the promise. */
  readonly boundMs: number;
  /** What was admitted, against `admittedBound`, in `admittedUnit`. */
  readonly admitted: number;
  readonly admittedBound: number;
  readonly admittedUnit: string;
  /** From the end of the fault (or its start, when it does not end) to normal answers; undefined if not seen. */
  readonly recoveryMs: number | undefined;
  readonly recoveryWhat: string;
  readonly notes: readonly string[];
}

/** Store call timeout of every limiter here: the default, said out loud. */
export const TIMEOUT_MS = 1000;
/** Slack for timers and a loaded event loop over the timeout: what "within its bound" allows. */
const SLACK_MS = 150;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

const standalone = (port: number): RedisConnectionConfig => ({ host: '127.0.0.1', port, tls: false, username: undefined, password: undefined, cluster: false });

function limiterOn(config: RedisConnectionConfig, plans: PlansConfig, prefix: string, extra: { controls?: false | { refresh: Duration } } = {}) {
  const store = createRedisStore({ client: () => createRedisClient(config), prefix, timeout: TIMEOUT_MS });
  const limiter = createRateLimiter({ plans, store, logger: false, topConsumers: false, ...(extra.controls !== undefined && { controls: extra.controls }) });
  return {
    limiter,
    async close() {
      await limiter.close();
      await store.close?.();
    },
  };
}

interface Answer {
  at: number;
  ms: number;
  id: string;
  instance: number;
  cost: number;
  result?: RateLimitResult;
  error?: unknown;
}

/** Checks from `workers` loops per limiter until `stop()` or `maxMs`, pausing `pauseMs` between calls. */
function load(limiters: RateLimiter[], o: { workers: number; ids: readonly string[]; plan: string; pauseMs: number; maxMs: number; cost?: (n: number) => number }) {
  const answers: Answer[] = [];
  let running = true;
  let n = 0;
  const until = Date.now() + o.maxMs;
  const done = Promise.all(
    limiters.flatMap((limiter, instance) =>
      Array.from({ length: o.workers }, async () => {
        while (running && Date.now() < until) {
          const i = n++;
          const id = o.ids[i % o.ids.length]!;
          const cost = o.cost?.(i) ?? 1;
          const at = Date.now();
          const answer: Answer = { at, ms: 0, id, instance, cost };
          try {
            answer.result = await limiter.check(id, { plan: o.plan, cost });
          } catch (error) {
            answer.error = error;
          }
          answer.ms = Date.now() - at;
          answers.push(answer);
          await sleep(o.pauseMs);
        }
      }),
    ),
  );
  return {
    answers,
    async stop() {
      running = false;
      await done;
    },
  };
}

function summary(answers: readonly Answer[]) {
  const ms = answers.map((a) => a.ms);
  return {
    calls: answers.length,
    degraded: answers.filter((a) => a.result?.degraded !== undefined || a.error !== undefined).length,
    worstMs: Math.max(0, ...ms),
    p99Ms: percentile(ms, 99),
    errors: answers.filter((a) => a.error !== undefined).length,
  };
}

/** The most any identifier was admitted among `answers`, in cost units. */
function mostAdmitted(answers: readonly Answer[]): number {
  const byId = new Map<string, number>();
  for (const a of answers) if (a.result?.allowed) byId.set(a.id, (byId.get(a.id) ?? 0) + a.cost);
  return Math.max(0, ...byId.values());
}

/**
 * The package README's outage bound for one identifier: the limit, plus what Redis admitted after
 * the stalest instance's last answer from Redis (that instance's share was cut from an older
 * remaining). Returns the identifier closest to (or furthest past) its bound.
 */
function outageBound(answers: readonly Answer[], limit: number, instances: number, stoppedAt: number): { admitted: number; bound: number } {
  let worst = { admitted: 0, bound: limit };
  for (const id of new Set(answers.map((a) => a.id))) {
    const mine = answers.filter((a) => a.id === id);
    const fromRedis = mine.filter((a) => a.at < stoppedAt && a.result !== undefined && a.result.degraded === undefined);
    // when each instance's last answer from Redis for this identifier was asked
    const last = Array.from({ length: instances }, (_, i) => Math.max(-Infinity, ...fromRedis.filter((a) => a.instance === i).map((a) => a.at)));
    const stalest = Math.min(...last);
    const late = fromRedis.filter((a) => a.result!.allowed && a.at + a.ms > stalest).reduce((sum, a) => sum + a.cost, 0);
    const admitted = mine.filter((a) => a.result?.allowed).reduce((sum, a) => sum + a.cost, 0);
    const bound = limit + (Number.isFinite(stalest) ? late : 0);
    if (admitted - bound > worst.admitted - worst.bound) worst = { admitted, bound };
  }
  return worst;
}

/** When every instance answered from the store (not degraded) after `from`; undefined if never. */
function recoveredAt(answers: readonly Answer[], from: number, instances: number, ids?: ReadonlySet<string>): number | undefined {
  const seen = new Set<number>();
  for (const a of [...answers].sort((x, y) => x.at + x.ms - (y.at + y.ms))) {
    if (a.at < from || a.result === undefined || a.result.degraded !== undefined) continue;
    if (ids && !ids.has(a.id)) continue;
    seen.add(a.instance);
    if (seen.size === instances) return a.at + a.ms;
  }
  return undefined;
}

const errorNote = (errors: number) => (errors > 0 ? [`${errors} calls threw instead of answering.`] : []);

/** The engine's default `presence.refresh`. */
const PRESENCE_REFRESH_MS = 5000;

/** Redis stopped under load (3 instances), then started again on the same port. */
export async function outage(): Promise<FaultResult> {
  // large enough that the store is still asked (not the deny cache) when it stops
  const limit = 400;
  const plans = { p: { limits: [{ name: 'minute', limit, window: '1 m' }] } } satisfies PlansConfig;
  let server = await startServer({ name: 'faults-outage' });
  const prefix = `faults-${randomUUID().slice(0, 8)}`;
  const instances = [0, 1, 2].map(() => limiterOn(standalone(server.port), plans, prefix));
  try {
    for (const i of instances) await i.limiter.check('warm-up', { plan: 'p' });
    // a steady state: every instance has refreshed its presence since all three started, so each
    // knows how many share the limit (an outage sooner after a start is the README's "joining" case)
    await sleep(PRESENCE_REFRESH_MS + 500);
    const ids = ['a', 'b', 'c', 'd', 'e'].map((x) => `creator-${x}`);
    const run = load(
      instances.map((i) => i.limiter),
      { workers: 6, ids, plan: 'p', pauseMs: 25, maxMs: 20_000 },
    );
    await sleep(1500);
    const stoppedAt = Date.now();
    await server.stop();
    await sleep(3000);
    const restartedAt = Date.now();
    server = await startServer({ port: server.port, name: 'faults-outage' });
    for (let i = 0; i < 100 && recoveredAt(run.answers, restartedAt, instances.length) === undefined; i++) await sleep(100);
    await sleep(300);
    await run.stop();
    const s = summary(run.answers);
    const recovered = recoveredAt(run.answers, restartedAt, instances.length);
    const before = run.answers.filter((a) => a.at < restartedAt);
    const bounded = outageBound(before, limit, instances.length, stoppedAt);
    const byFallback = before.filter((a) => a.result?.allowed && a.result.degraded === 'fallback').length;
    return {
      id: 'outage',
      title: 'Redis stopped under load',
      promise:
        "Every call answers within the store timeout; during the outage the instances together admit at most what was left of the limit, as each last saw it (the package README's bound).",
      setup: `3 limiter instances x 6 workers on 5 identifiers (limit ${limit} per minute, fallback policy), started ${(PRESENCE_REFRESH_MS + 500) / 1000} s before the load (one presence refresh); the server is stopped 1.5 s into the load and started again (empty, no persistence) 3 s later.`,
      ...s,
      boundMs: TIMEOUT_MS + SLACK_MS,
      admitted: bounded.admitted,
      admittedBound: bounded.bound,
      admittedUnit: "requests for the identifier nearest its bound, before the restart (the limit plus what Redis admitted after the stalest instance's last answer: the package README's bound)",
      recoveryMs: recovered === undefined ? undefined : recovered - restartedAt,
      recoveryWhat: 'from the restart until every instance answered from Redis',
      notes: [
        `Stopped for ${restartedAt - stoppedAt} ms; ${s.degraded} of ${s.calls} calls answered by the failure policy, ${byFallback} of them allowed (by the instances' shares).`,
        ...errorNote(s.errors),
      ],
    };
  } finally {
    for (const i of instances) await i.close().catch(() => undefined);
    await server.stop();
  }
}

/** A server that accepts connections and never answers, replaced after a while by a real Redis. */
export async function hungServer(o: { seconds?: number } = {}): Promise<FaultResult> {
  const limit = 20;
  const plans = { p: { limits: [{ name: 'minute', limit, window: '1 m' }] } } satisfies PlansConfig;
  const [port] = await freePorts(1);
  const sockets = new Set<net.Socket>();
  const hung = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => hung.listen(port, '127.0.0.1', r));
  const instance = limiterOn(standalone(port!), plans, `faults-${randomUUID().slice(0, 8)}`);
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    const run = load([instance.limiter], { workers: 8, ids: ['creator-h'], plan: 'p', pauseMs: 20, maxMs: 20_000 });
    await sleep((o.seconds ?? 3) * 1000);
    for (const s of sockets) s.destroy();
    await new Promise((r) => hung.close(r));
    const replacedAt = Date.now();
    server = await startServer({ port, name: 'faults-hung' });
    for (let i = 0; i < 100 && recoveredAt(run.answers, replacedAt, 1) === undefined; i++) await sleep(100);
    await run.stop();
    const s = summary(run.answers);
    const recovered = recoveredAt(run.answers, replacedAt, 1);
    return {
      id: 'hung',
      title: 'Server accepts and never answers',
      promise: 'Every call answers within the store timeout, and the limit holds.',
      setup: `1 limiter, 8 workers on one identifier (limit ${limit} per minute); a TCP server that accepts and never answers for ${o.seconds ?? 3} s, then a real Redis on the same port.`,
      ...s,
      boundMs: TIMEOUT_MS + SLACK_MS,
      admitted: mostAdmitted(run.answers.filter((a) => a.at < replacedAt)),
      admittedBound: limit,
      admittedUnit: 'requests, while hung',
      recoveryMs: recovered === undefined ? undefined : recovered - replacedAt,
      recoveryWhat: 'from the real Redis starting until the limiter answered from it',
      notes: [`${s.degraded} of ${s.calls} calls answered by the failure policy.`, ...errorNote(s.errors)],
    };
  } finally {
    for (const s of sockets) s.destroy();
    hung.close();
    await instance.close().catch(() => undefined);
    await server?.stop();
  }
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.ts');

/** What a worker process reports (see worker.ts). */
export interface WorkerReport {
  admitted: number;
  calls: number;
  degraded: number;
  worstMs: number;
  p99Ms: number;
  errors: number;
  /** The longest the process's event loop was held up (ms): a timer cannot fire sooner. */
  lagMs: number;
}

export interface WorkerTask {
  port: number;
  prefix: string;
  identifier: string;
  /** The plan's one limit. */
  limit: number;
  window: Duration;
  checks: number;
  concurrency: number;
  /** Costs cycle through 1..maxCost. */
  maxCost: number;
  clock: 'store' | 'local';
  /** Added to this process's Date.now() (a skewed clock). */
  skewMs: number;
  /** Pause between one worker's checks. */
  pauseMs: number;
}

/** Runs `task` in a child process (its own event loop and connection); rejects after `maxMs`. */
function runWorker(task: WorkerTask, maxMs: number): Promise<WorkerReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), maxMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WorkerReport);
      else reject(new Error(`fault worker exited with ${code}: ${err.slice(-500)}`));
    });
  });
}

/** `count` processes that keep every core busy for `ms` (bounded), for a slow host. */
function busyLoops(count: number, ms: number) {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' }),
  );
  return () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  };
}

/** Several processes on one identifier while busy loops starve the CPU (Redis stays up). */
export async function slowHost(o: { processes?: number; checks?: number; concurrency?: number; busy?: number } = {}): Promise<FaultResult> {
  // the case: 8 processes x 500 concurrent checks beside 6 busy loops
  const processes = o.processes ?? 8;
  const checks = o.checks ?? 500;
  const concurrency = o.concurrency ?? 500;
  const busy = o.busy ?? 6;
  const limit = 300;
  const server = await startServer({ name: 'faults-slow' });
  const stopBusy = busyLoops(busy, 40_000);
  try {
    await sleep(300);
    const prefix = `faults-${randomUUID().slice(0, 8)}`;
    const task: WorkerTask = { port: server.port, prefix, identifier: 'creator-slow', limit, window: '1 h', checks, concurrency, maxCost: 5, clock: 'store', skewMs: 0, pauseMs: 0 };
    const reports = await Promise.all(Array.from({ length: processes }, () => runWorker(task, 60_000)));
    const admitted = reports.reduce((sum, r) => sum + r.admitted, 0);
    const calls = reports.reduce((sum, r) => sum + r.calls, 0);
    const degraded = reports.reduce((sum, r) => sum + r.degraded, 0);
    const errors = reports.reduce((sum, r) => sum + r.errors, 0);
    const lagMs = Math.max(...reports.map((r) => r.lagMs));
    return {
      id: 'slow-host',
      title: 'Slow host (CPU starved), Redis up',
      promise:
        "Slow is not down: the total admitted never exceeds the limit, and every call answers within the store timeout plus however long the host held the process's event loop (no timer can fire sooner).",
      setup: `${processes} processes x ${checks} checks (${concurrency} in flight each), costs 1-5 on one identifier, limit ${limit} per hour, beside ${busy} busy loops; Redis up throughout.`,
      calls,
      degraded,
      worstMs: Math.max(...reports.map((r) => r.worstMs)),
      p99Ms: Math.max(...reports.map((r) => r.p99Ms)),
      boundMs: TIMEOUT_MS + SLACK_MS + lagMs,
      admitted,
      admittedBound: limit,
      admittedUnit: 'cost units, all processes',
      recoveryMs: undefined,
      recoveryWhat: 'Redis never failed',
      notes: [
        `${degraded} of ${calls} calls answered by the failure policy.`,
        `The longest event-loop delay in a worker process was ${lagMs} ms (perf_hooks.monitorEventLoopDelay): the bound is the store timeout plus timer slack plus that delay.`,
        ...errorNote(errors),
      ],
    };
  } finally {
    stopBusy();
    await server.stop();
  }
}

/** One master of a 3+3 cluster killed under load; its replica takes over. */
export async function clusterMasterKilled(): Promise<FaultResult> {
  const limit = 100;
  const plans = { p: { limits: [{ name: 'minute', limit, window: '1 m' }] } } satisfies PlansConfig;
  const cluster = await startCluster({ masters: 3, replicas: 1 });
  const prefix = `faults-${randomUUID().slice(0, 8)}`;
  const seed = cluster.nodes[0]!;
  const instance = limiterOn({ ...standalone(seed.port), cluster: true }, plans, prefix);
  const probe = new Redis({ port: seed.port, lazyConnect: true });
  probe.on('error', () => undefined);
  try {
    const ids = Array.from({ length: 30 }, (_, i) => `creator-${i}`);
    for (const id of ids) await instance.limiter.check(id, { plan: 'p', cost: 1 }).catch(() => undefined);
    // which master serves each identifier's slot, to kill the one of ids[0]
    const slots = await probe.cluster('SLOTS');
    const masterOf = async (id: string) => {
      const slot = await probe.cluster('KEYSLOT', `${prefix}:{${id}}`);
      return slots.find(([from, to]) => slot >= from && slot <= to)![2]![1];
    };
    const owners = new Map<string, number>();
    for (const id of ids) owners.set(id, await masterOf(id));
    const victimPort = owners.get(ids[0]!)!;
    const onVictim = new Set(ids.filter((id) => owners.get(id) === victimPort));
    const victim = cluster.servers.find((s) => s.port === victimPort)!;
    const run = load([instance.limiter], { workers: 10, ids, plan: 'p', pauseMs: 10, maxMs: 30_000 });
    await sleep(2000);
    const killedAt = Date.now();
    await victim.kill();
    for (let i = 0; i < 200 && recoveredAt(run.answers, killedAt + 200, 1, onVictim) === undefined; i++) await sleep(100);
    await sleep(1000);
    await run.stop();
    const s = summary(run.answers);
    const healthy = run.answers.filter((a) => a.at >= killedAt && !onVictim.has(a.id));
    const healthyDegraded = healthy.filter((a) => a.result?.degraded !== undefined || a.error !== undefined).length;
    const recovered = recoveredAt(run.answers, killedAt + 200, 1, onVictim);
    return {
      id: 'cluster-master',
      title: 'Cluster master killed (3 masters + 3 replicas)',
      promise:
        "Only identifiers on the dead shard see the failure policy; every call answers within the store timeout; through the failover an identifier gets at most the limit plus its fallback share, which the promoted replica does not know (the package README's bound: at most twice the limit).",
      setup: `1 limiter, 10 workers on 30 identifiers (limit ${limit} per minute), ${onVictim.size} of them on the master killed (SIGKILL) 2 s in.`,
      ...s,
      boundMs: TIMEOUT_MS + SLACK_MS,
      admitted: mostAdmitted(run.answers),
      admittedBound: 2 * limit,
      admittedUnit: 'requests per identifier (the limit, plus the fallback share the replica does not know)',
      recoveryMs: recovered === undefined ? undefined : recovered - killedAt,
      recoveryWhat: "from the kill until the dead shard's identifiers were answered from Redis (the replica)",
      notes: [
        `Identifiers on the healthy shards: ${healthyDegraded} of ${healthy.length} calls after the kill answered by the failure policy (${healthy.length ? Math.round((100 * healthyDegraded) / healthy.length) : 0}%).`,
        ...errorNote(s.errors),
      ],
    };
  } finally {
    probe.disconnect();
    await instance.close().catch(() => undefined);
    await cluster.stop();
  }
}

/** Two instances with `clock: 'local'`, one 30 s ahead, on one identifier. */
export async function clockSkew(): Promise<FaultResult> {
  const limit = 10;
  const server = await startServer({ name: 'faults-clock' });
  try {
    const prefix = `faults-${randomUUID().slice(0, 8)}`;
    // 40 s of checks, all inside one minute: an entry stamped 30 s early expires 30 s early
    const base: WorkerTask = { port: server.port, prefix, identifier: 'creator-clock', limit, window: '1 m', checks: 40, concurrency: 1, maxCost: 1, clock: 'local', skewMs: 0, pauseMs: 1000 };
    const [right, ahead] = await Promise.all([runWorker(base, 60_000), runWorker({ ...base, skewMs: 30_000 }, 60_000)]);
    return {
      id: 'clock-skew',
      title: "Callers' clocks 30 s apart (clock: 'local')",
      promise: 'The limit holds whatever the callers\' clocks say; the server clock stays the default.',
      setup: `2 processes with clock 'local', one 30 s ahead, 40 checks each (one a second, so all within one minute) on one identifier, limit ${limit} per minute.`,
      calls: right.calls + ahead.calls,
      degraded: right.degraded + ahead.degraded,
      worstMs: Math.max(right.worstMs, ahead.worstMs),
      p99Ms: Math.max(right.p99Ms, ahead.p99Ms),
      boundMs: TIMEOUT_MS + SLACK_MS,
      admitted: right.admitted + ahead.admitted,
      admittedBound: limit,
      admittedUnit: 'requests in one minute, both processes',
      recoveryMs: undefined,
      recoveryWhat: 'nothing failed',
      notes: [`Admitted: ${right.admitted} by the process with the right clock, ${ahead.admitted} by the one 30 s ahead.`, ...errorNote(right.errors + ahead.errors)],
    };
  } finally {
    await server.stop();
  }
}

/** A limiter started while its Redis is down; Redis starts later; an admin's block must then apply. */
export async function coldStart(): Promise<FaultResult> {
  const limit = 30;
  const plans = { p: { limits: [{ name: 'minute', limit, window: '1 m' }] } } satisfies PlansConfig;
  const [port] = await freePorts(1);
  const prefix = `faults-${randomUUID().slice(0, 8)}`;
  // the periodic reload of controls is an hour away: a block must come by the subscription
  const cold = limiterOn(standalone(port!), plans, prefix, { controls: { refresh: '1 h' } });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let admin: ReturnType<typeof limiterOn> | undefined;
  try {
    const run = load([cold.limiter], { workers: 6, ids: ['creator-cold', 'creator-other'], plan: 'p', pauseMs: 20, maxMs: 30_000 });
    await sleep(2000);
    const startedAt = Date.now();
    server = await startServer({ port, name: 'faults-cold' });
    for (let i = 0; i < 100 && recoveredAt(run.answers, startedAt, 1) === undefined; i++) await sleep(100);
    const recovered = recoveredAt(run.answers, startedAt, 1);
    admin = limiterOn(standalone(port!), plans, prefix);
    const blockedAt = Date.now();
    await createRateLimitAdmin(admin.limiter).block('creator-cold', { actor: 'faults', for: '10 m', reason: 'cold start fault' });
    let applied: number | undefined;
    for (let i = 0; i < 100 && applied === undefined; i++) {
      const r = await cold.limiter.check('creator-cold', { plan: 'p' });
      if (r.deniedBy === 'blocked') applied = Date.now() - blockedAt;
      else await sleep(100);
    }
    await run.stop();
    const s = summary(run.answers);
    return {
      id: 'cold-start',
      title: 'Cold start with Redis down',
      promise: 'Calls answer within the store timeout while Redis is down; once it is up the limiter uses it and hears admin controls (blocks) at once.',
      setup: `1 limiter created while nothing listens on its port, 6 workers on 2 identifiers (limit ${limit} per minute); Redis starts 2 s in; then an admin blocks one identifier.`,
      ...s,
      boundMs: TIMEOUT_MS + SLACK_MS,
      admitted: mostAdmitted(run.answers.filter((a) => a.at < startedAt)),
      admittedBound: limit,
      admittedUnit: 'requests per identifier, while down',
      recoveryMs: recovered === undefined ? undefined : recovered - startedAt,
      recoveryWhat: 'from Redis starting until the limiter answered from it',
      notes: [applied === undefined ? 'The admin block did not apply within 10 s.' : `The admin block applied ${applied} ms after it was written.`, ...errorNote(s.errors)],
    };
  } finally {
    await cold.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
    await server?.stop();
  }
}

/** Every fault, in report order, with the arguments of a full run. */
export const FAULTS: readonly { id: string; run: () => Promise<FaultResult> }[] = [
  { id: 'outage', run: outage },
  { id: 'hung', run: () => hungServer() },
  { id: 'slow-host', run: () => slowHost() },
  { id: 'cluster-master', run: clusterMasterKilled },
  { id: 'clock-skew', run: clockSkew },
  { id: 'cold-start', run: coldStart },
];
