// `npm run bench` (or `pnpm --filter @airl/ratelimit bench`): this project's limiters beside its
// peers and the redis-benchmark ceiling, in one run against one Redis. Writes results/latest.md,
// latest.json and chart.svg, and the generated part of docs/benchmarks.md.
//
//   BENCH_QUICK=1       a few seconds, to see that everything runs (results/quick/, docs untouched)
//   BENCH_ONLY=steady,hot,in-flight,identifiers,memory,cluster    run some sections only (cluster:
//                       the steady workload on a 3-master Redis Cluster the bench starts on loopback)
//   BENCH_ROUNDS, BENCH_SECONDS    rounds per row and measured seconds per round (steady, hot)
//   BENCH_PRIVATE_REDIS=1    start a redis-server of its own on a free port instead (clean CPU
//                       and command counts: no other client's work in them)
//   REDIS_URL           default redis://127.0.0.1:6379
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import { Redis } from 'ioredis';

import { checkCommand, librarySource, runRedisBenchmark } from './ceiling';
import { type LocalCluster, startLocalCluster } from './cluster';
import { drive, type Workload } from './harness';
import type { ClusterNode, Implementation, LimitSpec } from './implementation';
import { removeKeys } from './keys';
import { measureMemory, type MemoryResult, sharedBytes, slope } from './memory';
import { startPrivateRedis } from './private-redis';
import { ours } from './ours';
import { anomalyState, SHARED_BENCH_BUDGET } from './plans';
import { flexible } from './peers/rate-limiter-flexible';
import { minimalLog } from './peers/minimal-log';
import { multiZset } from './peers/multi-zset';
import { upstash } from './peers/upstash';
import { snapshot, delta, type RedisSnapshot } from './redis-info';
import { renderMarkdown, renderSvg } from './report';
import type { Curve, CurvePoint, Machine, Results, Round, Row, Section } from './results';

const QUICK = process.env.BENCH_QUICK === '1';
const SECTIONS = 'memory,steady,hot,in-flight,identifiers,cluster';
const ONLY = new Set((process.env.BENCH_ONLY ?? SECTIONS).split(',').map((s) => s.trim()));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 5));
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 0.25 : 3));
const WARMUP_MS = QUICK ? 100 : 1000;
const CURVE_SECONDS = QUICK ? 0.2 : 2;
const CURVE_ROUNDS = QUICK ? 1 : 2;
const SEED = 42;
const privateRedis = process.env.BENCH_PRIVATE_REDIS === '1' ? await startPrivateRedis() : undefined;
const redisUrl = privateRedis?.url ?? (process.env.REDIS_URL || 'redis://127.0.0.1:6379');

/** Steady: every call allowed; a 10 s window so logs reach their steady size (each check trims) within the run. */
const STEADY: LimitSpec = { limit: 1000, windowMs: 10_000 };
/** Hot: 100 identifiers over 10 calls a minute each: after the first 1,000 calls, nearly all are denied. */
const HOT: LimitSpec = { limit: 10, windowMs: 60_000 };

const RUN = `airl-bench:${randomUUID().slice(0, 8)}`;
const RESULTS = fileURLToPath(new URL(QUICK ? './results/quick/' : './results/', import.meta.url));
const DOCS = fileURLToPath(new URL('../../../docs/benchmarks.md', import.meta.url));

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const log = (line: string) => process.stderr.write(`${line}\n`);
const loadavg = () => os.loadavg().map((v) => Math.round(v * 100) / 100);

/** Where a section runs: the Redis of the run, or a cluster with its INFO summed over masters. */
interface Target {
  snapshot(): Promise<RedisSnapshot>;
  removeKeys(prefix: string): Promise<unknown>;
}
const standalone: Target = { snapshot: () => snapshot(redis), removeKeys: (prefix) => removeKeys(redis, prefix) };

/** The implementations of a workload, each with its own key prefix (on `cluster` when given). */
function lineup(spec: LimitSpec, tag: string, which: readonly string[], cluster?: readonly ClusterNode[]): Implementation[] {
  const p = (id: string) => `${RUN}:${tag}:${id}`;
  const where = { url: redisUrl, cluster };
  const all: Record<string, () => Implementation> = {
    'ours-log': () => ours({ id: 'ours-log', label: 'this project: exact sliding log', prefix: p('ours-log'), ...where, spec, plan: 'log' }),
    'ours-window': () => ours({ id: 'ours-window', label: 'this project: sliding-window counter', prefix: p('ours-window'), ...where, spec, plan: 'window' }),
    'ours-log-lean': () =>
      ours({
        id: 'ours-log-lean',
        label: 'this project: exact sliding log, top-consumer boards and controls off',
        prefix: p('ours-log-lean'),
        ...where,
        spec,
        plan: 'log',
        options: { topConsumers: false, controls: false },
      }),
    'ours-plan3': () =>
      ours({ id: 'ours-plan3', label: `this project: three-limit plan (${anomalyState})`, prefix: p('ours-plan3'), ...where, spec, plan: 'plan3' }),
    // the same plan without anomaly counters: what detection costs a check
    'ours-plan3-plain': () =>
      ours({ id: 'ours-plan3-plain', label: 'this project: three-limit plan, anomaly counters off', prefix: p('ours-plan3-plain'), ...where, spec, plan: 'plan3', options: { anomalies: false } }),
    // a creator's plan charged together with the provider's shared budget (two scripts, two slots)
    'ours-plan3-shared': () =>
      ours({
        id: 'ours-plan3-shared',
        label: `this project: creator plan + shared budget (three-limit plan, ${anomalyState}, provider budget with a 20% share)`,
        prefix: p('ours-plan3-shared'),
        ...where,
        spec,
        plan: 'plan3',
        options: { shared: SHARED_BENCH_BUDGET },
      }),
    rlf: () => flexible({ id: 'rlf', label: 'rate-limiter-flexible RateLimiterRedis (fixed window)', prefix: p('rlf'), ...where, spec }),
    'rlf-block': () =>
      flexible({ id: 'rlf-block', label: 'rate-limiter-flexible + inMemoryBlockOnConsumed', prefix: p('rlf-block'), ...where, spec, inMemoryBlock: true }),
    upstash: () => upstash({ id: 'upstash', label: '@upstash/ratelimit sliding window (ioredis adapter)', prefix: p('upstash'), ...where, spec }),
    'minimal-log': () =>
      minimalLog({
        id: 'minimal-log',
        label: 'reference: minimal sliding-log script (ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIRE), one EVALSHA',
        prefix: p('minimal-log'),
        ...where,
        spec,
      }),
    multi: () => multiZset({ id: 'multi', label: 'plain MULTI sorted set (ZREMRANGEBYSCORE, ZADD, ZCARD, PEXPIRE)', prefix: p('multi'), ...where, spec }),
  };
  return which.map((id) => all[id]!());
}

const kindOf = (id: string): Row['kind'] => (id.startsWith('ours') ? 'ours' : id.startsWith('ceiling') ? 'ceiling' : 'peer');

/** One implementation, one round: open, warm up, measure with INFO around it, close (flushing). */
async function measureOnce(impl: Implementation, w: Workload, round: number, target = standalone): Promise<Round> {
  const load1 = os.loadavg()[0]!;
  const session = await impl.open();
  try {
    if (w.warmupMs > 0) await drive(session.check, w, w.warmupMs, w.seed + 1_000_003, false);
    const before = await target.snapshot();
    const sent0 = session.sent();
    const sample = await drive(session.check, w, w.durationMs, w.seed);
    // what the checks left for later (this project's usage boards, written every 5 s) is done
    // now and counted in the round's time and CPU: a round is shorter than that interval
    const closeStarted = performance.now();
    const closeCpu0 = process.cpuUsage();
    await session.close();
    const closeCpu = process.cpuUsage(closeCpu0);
    const elapsedMs = sample.elapsedMs + performance.now() - closeStarted;
    const sent = session.sent() - sent0;
    const d = delta(before, await target.snapshot(), impl.commands);
    const per = (n: number) => n / Math.max(1, sample.checks);
    return {
      round,
      checksPerSecond: (sample.checks / elapsedMs) * 1000,
      p50Ms: sample.p50Ms,
      p99Ms: sample.p99Ms,
      allowedShare: sample.allowedShare,
      errors: sample.errors,
      firstError: sample.firstError,
      commandsPerCheck: per(d.topLevel),
      redisCallsPerCheck: per(d.all),
      redisReadsPerCheck: per(d.reads),
      sentPerCheck: per(sent),
      nodeCpuUsPerCheck: per(sample.nodeCpuUs + closeCpu.user + closeCpu.system),
      redisCpuUsPerCheck: per(d.cpuUs),
      load1,
    };
  } catch (error) {
    await session.close().catch(() => undefined);
    throw error;
  }
}

interface Ceiling {
  readonly id: string;
  readonly label: string;
  readonly pipeline: number;
  requests: number;
}

async function ceilingOnce(c: Ceiling, command: readonly string[], w: Workload, seconds: number, round: number): Promise<Round> {
  const load1 = os.loadavg()[0]!;
  const before = await snapshot(redis);
  const r = await runRedisBenchmark({ url: redisUrl, command, identifiers: w.identifiers, clients: w.inFlight, pipeline: c.pipeline, requests: c.requests });
  const d = delta(before, await snapshot(redis), ['fcall']);
  // next round: about `seconds` long at this round's rate
  c.requests = Math.max(1000, Math.round(r.checksPerSecond * seconds));
  const per = (n: number) => n / r.requests;
  return {
    round,
    checksPerSecond: r.checksPerSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    allowedShare: Number.NaN,
    errors: 0,
    commandsPerCheck: per(d.topLevel),
    redisCallsPerCheck: per(d.all),
    redisReadsPerCheck: per(d.reads),
    sentPerCheck: 1,
    nodeCpuUsPerCheck: Number.NaN,
    redisCpuUsPerCheck: per(d.cpuUs),
    load1,
  };
}

/** Rounds of every entry, the order rotated each round so contention hits all alike. */
async function section(
  name: string,
  description: string,
  spec: LimitSpec,
  w: Workload,
  impls: Implementation[],
  ceilings: Ceiling[] = [],
  target = standalone,
): Promise<Section> {
  const loadStart = loadavg();
  const rounds = new Map<string, Round[]>();
  const command = ceilings.length ? (await redis.call('FUNCTION', 'LOAD', 'REPLACE', librarySource), await checkCommand(`${RUN}:${name}:ceiling`, spec)) : [];
  const entries: (Implementation | Ceiling)[] = [...impls, ...ceilings];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < entries.length; i++) {
      const e = entries[(i + round) % entries.length]!;
      log(`${name}: round ${round + 1}/${ROUNDS}, ${e.label}`);
      const result = 'open' in e ? await measureOnce(e, w, round, target) : await ceilingOnce(e, command, w, w.durationMs / 1000, round);
      rounds.set(e.id, [...(rounds.get(e.id) ?? []), result]);
    }
  }
  await target.removeKeys(`${RUN}:${name}:`);
  return {
    name,
    description,
    inFlight: w.inFlight,
    identifiers: w.identifiers,
    limit: spec.limit,
    windowMs: spec.windowMs,
    seconds: w.durationMs / 1000,
    rows: entries.map((e) => ({ id: e.id, label: e.label, kind: kindOf(e.id), rounds: rounds.get(e.id)! })),
    loadStart,
    loadEnd: loadavg(),
  };
}

async function curve(name: string, xLabel: string, fixed: string, xs: readonly number[], workload: (x: number) => Workload, ids: readonly string[]): Promise<Curve> {
  const points: CurvePoint[] = [];
  for (const x of xs) {
    const w = workload(x);
    if (w.identifiers >= 1_000_000) {
      // a million identifiers must not exhaust memory: the run's keys expire after 10 s, and are removed between points
      const before = await snapshot(redis);
      const needed = w.identifiers * 400;
      if ((before.maxMemory > 0 && before.usedMemory + needed > before.maxMemory) || os.freemem() < 2 * needed) {
        points.push({ x, rows: [], usedMemory: before.usedMemory, note: `skipped: ${Math.round(os.freemem() / 2 ** 20)} MB free` });
        continue;
      }
    }
    const tag = `${name}-${x}`;
    const impls = lineup(STEADY, tag, ids);
    const rounds = new Map<string, Round[]>();
    for (let round = 0; round < CURVE_ROUNDS; round++) {
      for (let i = 0; i < impls.length; i++) {
        const impl = impls[(i + round) % impls.length]!;
        log(`${name}: ${x.toLocaleString('en')}, round ${round + 1}/${CURVE_ROUNDS}, ${impl.label}`);
        rounds.set(impl.id, [...(rounds.get(impl.id) ?? []), await measureOnce(impl, w, round)]);
      }
    }
    const usedMemory = (await snapshot(redis)).usedMemory;
    await removeKeys(redis, `${RUN}:${tag}:`);
    points.push({ x, usedMemory, rows: impls.map((impl) => ({ id: impl.id, label: impl.label, kind: kindOf(impl.id), rounds: rounds.get(impl.id)! })) });
  }
  return { name, xLabel, fixed, points };
}

async function memory(): Promise<{ results: MemoryResult[]; boards: Results['boards'] }> {
  // a long window and a high limit: nothing expires or is denied while entries are counted
  const spec: LimitSpec = { limit: 100_000, windowMs: 3_600_000 };
  const counts = QUICK ? [1, 16, 128] : [1, 16, 64, 128, 256, 1024];
  const sample = QUICK ? 2 : 20;
  const make = (id: string, label: string, build: (prefix: string) => Implementation) => ({ id, label, build });
  const opts = { url: redisUrl, spec };
  const quiet = { topConsumers: false, controls: false } as const;
  const cases = [
    make('ours-log', 'this project: sliding log', (prefix) => ours({ ...opts, id: 'm', label: 'm', prefix, plan: 'log', options: quiet })),
    make('ours-window', 'this project: sliding-window counter', (prefix) => ours({ ...opts, id: 'm', label: 'm', prefix, plan: 'window', options: quiet })),
    make('ours-bucket', 'this project: token bucket', (prefix) => ours({ ...opts, id: 'm', label: 'm', prefix, plan: 'token-bucket', options: quiet })),
    make('ours-fixed', 'this project: fixed window', (prefix) => ours({ ...opts, id: 'm', label: 'm', prefix, plan: 'fixed-window', options: quiet })),
    make('ours-plan3', 'this project: three-limit plan (log + 2 counters, anomaly counters on)', (prefix) => ours({ ...opts, id: 'm', label: 'm', prefix, plan: 'plan3', options: quiet })),
    make('rlf', 'rate-limiter-flexible (fixed window)', (prefix) => flexible({ ...opts, id: 'm', label: 'm', prefix })),
    make('upstash', '@upstash/ratelimit sliding window (per window; 2 windows live)', (prefix) => upstash({ ...opts, id: 'm', label: 'm', prefix })),
    make('multi', 'plain MULTI sorted set', (prefix) => multiZset({ ...opts, id: 'm', label: 'm', prefix })),
  ];
  const logs = new Set(['ours-log', 'multi']);
  const results: MemoryResult[] = [];
  for (const c of cases) {
    log(`memory: ${c.label}`);
    const points = await measureMemory(redis, (entries) => c.build(`${RUN}:memory:${c.id}:${entries}`), logs.has(c.id) ? counts : [1], sample);
    results.push({ id: c.id, label: c.label, points, perEntryListpack: slope(points, 16, 128), perEntrySkiplist: slope(points, 256, 1024) });
  }
  // the usage boards: bounded by the heaviest identifiers each flush writes and the board size
  const boardIds = QUICK ? 200 : 10_000;
  const prefix = `${RUN}:memory:boards`;
  const session = await ours({ ...opts, id: 'm', label: 'm', prefix, plan: 'log', options: { controls: false } }).open();
  for (let i = 0; i < boardIds; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, boardIds - i) }, (_, k) => session.check(String(i + k).padStart(12, '0'))));
  }
  await session.close();
  const bytes = await sharedBytes(redis, prefix, ':board:');
  const boards = { bytes, bytesPerIdentifier: bytes / boardIds, identifiers: boardIds };
  await removeKeys(redis, `${RUN}:memory:`);
  return { results, boards };
}

/**
 * The steady workload on a 3-master cluster started here (the tests' helper), every row through an
 * ioredis `Cluster`; the cluster is stopped, keys and all, when the section ends.
 */
async function clusterSection(w: Workload): Promise<Section> {
  log('cluster: starting a 3-master Redis Cluster on loopback');
  const local: LocalCluster = await startLocalCluster();
  try {
    const target: Target = { snapshot: () => local.snapshot(), removeKeys: () => Promise.resolve() };
    return await section(
      'cluster',
      `The steady workload (${w.inFlight} calls in flight, ${w.identifiers.toLocaleString('en')} identifiers, never denied) on a 3-master Redis Cluster started on loopback for the run ` +
        `(${local.nodes.map((n) => n.port).join(', ')}), every row through an ioredis \`Cluster\` with the same options. ` +
        `Redis figures are every master's INFO summed. @upstash/ratelimit's identifier goes in a hash tag ({id}): its two window keys must share a slot for its script.`,
      STEADY,
      w,
      lineup(STEADY, 'cluster', ['ours-log', 'ours-window', 'ours-plan3', 'rlf', 'upstash'], local.nodes),
      [],
      target,
    );
  } finally {
    await local.stop();
  }
}

async function machine(): Promise<Machine> {
  const info = await redis.info('server');
  const [, zset] = (await redis.config('GET', 'zset-max-listpack-entries')) as [string, string];
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'cpu',
    cores: os.cpus().length,
    memoryGb: os.totalmem() / 2 ** 30,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? '?',
    zsetMaxListpackEntries: zset ?? '?',
    redisUrl: `${redisUrl.replace(/\/\/[^@]*@/, '//***@')}${privateRedis ? ' (started by the bench for this run)' : ''}`,
  };
}

function writeDocs(markdown: string) {
  const start = '<!-- bench:start (written by packages/ratelimit/bench/run.ts) -->';
  const end = '<!-- bench:end -->';
  let doc: string;
  try {
    doc = readFileSync(DOCS, 'utf8');
  } catch {
    log(`${DOCS} not found: figures not copied there`);
    return;
  }
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i < 0 || j < i) {
    log(`${DOCS} has no ${start} ... ${end} block: figures not copied there`);
    return;
  }
  writeFileSync(DOCS, `${doc.slice(0, i + start.length)}\n\n${markdown}\n${doc.slice(j)}`);
}

async function main() {
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  log(`bench ${RUN}: ${QUICK ? 'quick' : 'full'} run against ${redisUrl}; load average ${loadStart.join(' ')}`);
  await redis.ping();
  const info = await machine();
  const steadyW: Workload = { inFlight: 100, identifiers: 10_000, durationMs: SECONDS * 1000, warmupMs: WARMUP_MS, seed: SEED };
  const hotW: Workload = { ...steadyW, identifiers: 100, durationMs: Math.max(300, SECONDS * 750), warmupMs: Math.min(WARMUP_MS, 500) };
  const curveW = (over: Partial<Workload>): Workload => ({ ...steadyW, durationMs: CURVE_SECONDS * 1000, warmupMs: Math.min(WARMUP_MS, 500), ...over });
  const curveIds = QUICK ? ['ours-log', 'rlf'] : ['ours-log', 'ours-window', 'rlf', 'upstash'];
  const ceilings: Ceiling[] = [
    { id: 'ceiling-p1', label: 'ceiling: redis-benchmark, same function by FCALL, unpipelined', pipeline: 1, requests: Math.round(30_000 * SECONDS) },
    { id: 'ceiling-p16', label: 'ceiling: redis-benchmark, same function by FCALL, pipelined 16 deep', pipeline: 16, requests: Math.round(50_000 * SECONDS) },
  ];

  let memoryResults: MemoryResult[] = [];
  let boards: Results['boards'];
  if (ONLY.has('memory')) ({ results: memoryResults, boards } = await memory());

  const steady = !ONLY.has('steady') ? undefined : await section(
    'steady',
    `${steadyW.inFlight} calls in flight from one Node process, ${steadyW.identifiers.toLocaleString('en')} identifiers drawn uniformly (seed ${SEED}), ` +
      `${STEADY.limit.toLocaleString('en')} calls per ${STEADY.windowMs / 1000} s per identifier (never reached: every call is allowed), ` +
      `${SECONDS} s measured after ${WARMUP_MS / 1000} s of warm-up per round. The three-limit plan: requests per minute (sliding log), requests per hour and tokens per day (sliding-window counters), 250 tokens a call. ` +
      `redis-benchmark runs with -c ${steadyW.inFlight} (and -P 16) and -r ${steadyW.identifiers}.`,
    STEADY,
    steadyW,
    lineup(STEADY, 'steady', ['ours-log', 'ours-window', 'ours-plan3', 'ours-plan3-plain', 'ours-plan3-shared', 'ours-log-lean', 'rlf', 'upstash', 'multi', 'minimal-log']),
    ceilings,
  );

  const hot = ONLY.has('hot')
    ? await section(
        'hot',
        `${hotW.inFlight} calls in flight, ${hotW.identifiers} identifiers, ${HOT.limit} calls per ${HOT.windowMs / 1000} s each: after the first ${(HOT.limit * hotW.identifiers).toLocaleString('en')} calls nearly every call is denied. ` +
          `This project and @upstash/ratelimit keep a local cache of denials by default; rate-limiter-flexible has one when asked (inMemoryBlockOnConsumed), shown on its own row. The plain MULTI limiter adds every denied call to its log.`,
        HOT,
        hotW,
        lineup(HOT, 'hot', ['ours-log', 'ours-window', 'rlf', 'rlf-block', 'upstash', 'multi']),
      )
    : undefined;

  const inFlight = ONLY.has('in-flight')
    ? await curve(
        'in-flight',
        'calls in flight',
        `${steadyW.identifiers.toLocaleString('en')} identifiers, the steady workload's limit; ${CURVE_SECONDS} s per point, ${CURVE_ROUNDS} rounds.`,
        QUICK ? [1, 100] : [1, 10, 100, 1000],
        (x) => curveW({ inFlight: x }),
        curveIds,
      )
    : undefined;

  const identifiers = ONLY.has('identifiers')
    ? await curve(
        'identifiers',
        'identifiers',
        `${steadyW.inFlight} calls in flight, the steady workload's limit (keys expire 10 s after their last call; each point's keys are removed before the next); ${CURVE_SECONDS} s per point, ${CURVE_ROUNDS} rounds. ` +
          `With many identifiers most calls are an identifier's first in the run: the path that creates keys.`,
        QUICK ? [1000, 100_000] : [1000, 10_000, 100_000, 1_000_000],
        (x) => curveW({ identifiers: x }),
        // with boards off beside the default: what the boards cost as identifiers grow
        [...curveIds.slice(0, 1), 'ours-log-lean', ...curveIds.slice(1)],
      )
    : undefined;

  const cluster = ONLY.has('cluster') ? await clusterSection(steadyW) : undefined;

  await removeKeys(redis, `${RUN}:`);
  const results: Results = {
    startedAt,
    finishedAt: new Date().toISOString(),
    quick: QUICK,
    seed: SEED,
    rounds: ROUNDS,
    machine: info,
    loadStart,
    loadEnd: loadavg(),
    steady,
    hot,
    inFlight,
    identifiers,
    cluster,
    memory: memoryResults,
    boards,
    anomalyState,
  };
  const markdown = renderMarkdown(results);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}latest.md`, `# Benchmark results\n\nWritten by \`pnpm --filter @airl/ratelimit bench\`; see docs/benchmarks.md for the method.\n\n${markdown}`);
  writeFileSync(`${RESULTS}latest.json`, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(`${RESULTS}chart.svg`, renderSvg(results));
  if (!QUICK && SECTIONS.split(',').every((name) => ONLY.has(name))) writeDocs(markdown);
  process.stdout.write(`\n${markdown}\nwritten to ${RESULTS}\n`);
}

try {
  await main();
} finally {
  await removeKeys(redis, `${RUN}:`).catch(() => undefined);
  await redis.quit();
  await privateRedis?.stop();
}
