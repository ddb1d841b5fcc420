// `pnpm --filter @airl/ratelimit exec tsx bench/instructions.ts`: instructions redis-server
// executes per check, from reading the request to writing the reply. Deterministic (repeats
// within 1% on any machine, loaded or not), unlike time.
//
// Runs a private redis-server under valgrind's callgrind (counting off), loads the library and
// rate-limiter-flexible's script, brings every case to its steady state uncounted (logs at their
// working size, one expired entry per check), then counts a fixed stream of checks sent through
// `redis-cli --pipe` (Node is not in the loop), counting only inside readQueryFromClient and
// writeToClient (not the idle event loop or background expiry). The commands are the store's own,
// captured from src/stores/redis/ with the time passed in (the limiter's `clock` option), one
// check per command or BATCH per command as the store batches them.
//
// Breakdown (callgrind_annotate --inclusive): framing = reading, parsing and dispatching the
// command and writing its reply; Lua call = handing KEYS and ARGV to Lua, its reply back, and the collector;
// commands = the redis.call()s (scriptCall); Lua = the script's own work (decoding its arguments
// and its logic).
//
//   INSTRUCTIONS_CHECKS=2000  checks counted per case
//   INSTRUCTIONS_CASES=log,plan3  only these plans
//   INSTRUCTIONS_DUMPS=<dir>      keep each row's callgrind dump there (<plan>-<checks per call>.callgrind),
//                                 for callgrind_annotate --inclusive=yes
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { Redis } from 'ioredis';

import { createRateLimiter, type PlansConfig, type RateLimiterOptions } from '../src/index';
import { timeArg } from '../src/lua/protocol';
import * as scripts from '../src/lua/scripts.generated';
import { createRedisStore, type RedisClient } from '../src/redis';
import { type BenchPlan, benchPlans } from './plans';
import { startPrivateRedis } from './private-redis';

const run = promisify(execFile);
const CHECKS = Number(process.env.INSTRUCTIONS_CHECKS ?? 2000);
export const BATCH = 50;
/** The time in a captured command (as timeArg writes it), replaced by the check's own. */
const TIME = 9_000_000_000_000;

export interface InstructionCase {
  readonly name: string;
  readonly plan: BenchPlan;
  readonly cost?: number;
  readonly limiter?: Partial<RateLimiterOptions>;
  /** Identifiers in turn, one check per `stepMs`: a log of window W holds W / (ids x stepMs) entries. */
  readonly ids: number;
  readonly stepMs: number;
  /** Checks sent uncounted first: logs reach their working size. */
  readonly warmup: number;
}

export const SPEC = { limit: 100_000, windowMs: 10_000 };
export const CASES: readonly InstructionCase[] = [
  { name: 'sliding log (1 limit, ~100 entries)', plan: 'log', ids: 100, stepMs: 1, warmup: 12_000 },
  { name: 'sliding-window counter (1 limit)', plan: 'window', ids: 100, stepMs: 1, warmup: 1000 },
  { name: 'token bucket (1 limit)', plan: 'token-bucket', ids: 100, stepMs: 1, warmup: 1000 },
  { name: 'fixed window (1 limit)', plan: 'fixed-window', ids: 100, stepMs: 1, warmup: 1000 },
  { name: 'three-limit plan (log ~60 entries, 2 counters), anomaly counters on', plan: 'plan3', cost: 250, limiter: { anomalies: {} }, ids: 100, stepMs: 10, warmup: 7000 },
];

type Command = readonly string[];

/**
 * The commands the store sends for `count` checks started together (each a different identifier
 * `#0`, `#1`, ...), in steady state (the second round: what a first call sends once is not in it).
 */
export async function captureChecks(c: InstructionCase, count: number): Promise<{ learn: Command[]; steady: Command[] }> {
  const learn: Command[] = [];
  const steady: Command[] = [];
  let round = 0;
  let calls = 0;
  // the reply of one group of `n` allowed checks that carried their time (see check.lua)
  const limits = benchPlans(SPEC)[c.plan].limits;
  // a plan of one limit without anomaly rules answers without a status (see check.lua)
  const status = limits.length === 1 && !c.limiter?.anomalies ? [] : [1];
  const group = (n: number) => Array.from({ length: n }, () => [...status, ...limits.flatMap(() => [0, 0])]).flat();
  const recorder = {
    on: () => recorder,
    defineCommand: () => undefined,
    call: (...args: (string | number)[]) => {
      if (args[0] !== 'FCALL') return Promise.resolve('OK');
      const batch = String(args[1]).endsWith('_checks');
      calls++;
      // the first call of all: "plan unknown", so the store sends the definition, as it does once per library load
      if (calls === 1) return Promise.resolve(batch ? [] : 0);
      (round === 0 ? learn : steady).push(args.map(String));
      return Promise.resolve(group(batch ? count : 1));
    },
  };
  const store = createRedisStore({ client: recorder as unknown as RedisClient, prefix: 'i', batch: BATCH });
  const limiter = createRateLimiter({ plans: benchPlans(SPEC), store, controls: false, topConsumers: false, denyCache: false, logger: false, clock: () => TIME, ...c.limiter });
  const check = c.cost === undefined ? { plan: c.plan } : { plan: c.plan, cost: c.cost };
  for (round = 0; round < 2; round++) await Promise.all(Array.from({ length: count }, (_, i) => limiter.check(`#${i}`, check)));
  await limiter.close();
  if (steady.length === 0 || learn.length === 0) throw new Error('the store sent no FCALL: has src/stores/redis/ changed how it calls its functions?');
  return { learn, steady };
}

function resp(args: readonly string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** `checks` checks as RESP, the identifier of check `it` being `it % ids`, its time `base + it * stepMs`. */
function stream(commands: readonly Command[], perCommand: number, c: InstructionCase, from: number, checks: number, base: number): string {
  let out = '';
  for (let it = from; it < from + checks; it += perCommand) {
    for (const command of commands) {
      out += resp(command.map((a) => a.replace(/#(\d+)/g, (_, i: string) => String((it + Number(i)) % c.ids)).replace(timeArg(TIME), timeArg(base + it * c.stepMs))));
    }
  }
  return out;
}

async function pipe(port: number, file: string): Promise<void> {
  const { stdout } = await run('sh', ['-c', `redis-cli -p ${port} --pipe < ${file}`], { maxBuffer: 1 << 26 });
  if (!stdout.includes('errors: 0,')) throw new Error(`redis-cli --pipe reported errors: ${stdout.slice(-300)}`);
}

export interface Counted {
  readonly total: number;
  readonly framing: number;
  readonly args: number;
  readonly commands: number;
  readonly lua: number;
}

/** Inclusive instruction counts by function from a callgrind dump. */
async function annotate(file: string): Promise<Map<string, number>> {
  const { stdout } = await run('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { maxBuffer: 1 << 26 });
  const by = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+\S*:(\S+)/.exec(line) ?? /^\s*([\d,]+)\s+\S*:(\S+)/.exec(line);
    if (m) by.set(m[2]!.replace(/\s.*$/, ''), (by.get(m[2]!) ?? 0) + Number(m[1]!.replaceAll(',', '')));
  }
  const total = /([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS/.exec(stdout) ?? /^([\d,]+)\s+.*PROGRAM TOTALS/m.exec(stdout);
  by.set('TOTAL', Number(total?.[1]?.replaceAll(',', '') ?? NaN));
  return by;
}

export async function startCallgrind(dir: string): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const port = await new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', '--toggle-collect=readQueryFromClient', '--toggle-collect=writeToClient', `--callgrind-out-file=${dir}/callgrind.out`, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      probe.disconnect();
      if (child.exitCode !== null || Date.now() > deadline) throw new Error('redis-server under valgrind did not start: are valgrind and redis-server installed?');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  probe.disconnect();
  return {
    port,
    pid: child.pid!,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => child.kill());
      await exited;
    },
  };
}

/** Counts `checks` checks of `commands` after `warmup` uncounted ones. */
export async function count(server: { port: number; pid: number }, dir: string, commands: readonly Command[], perCommand: number, c: InstructionCase, checks = CHECKS, learn: readonly Command[] = []): Promise<Counted> {
  const redis = new Redis(server.port, '127.0.0.1');
  try {
    await redis.flushall();
    // what the store sends once per library load, then a check that must run (not "plan unknown")
    for (const command of learn) await redis.call(command[0]!, ...command.slice(1));
    const probe = await redis.call(commands[0]![0]!, ...commands[0]!.slice(1));
    if (!Array.isArray(probe) || probe.length === 0) throw new Error(`${c.name}: the check did not run (${JSON.stringify(probe)})`);
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
  const file = join(dir, 'stream.resp');
  const base = 1_000_000_000_000;
  for (let from = 0; from < c.warmup; from += 5000) {
    writeFileSync(file, stream(commands, perCommand, c, from, Math.min(5000, c.warmup - from), base));
    await pipe(server.port, file);
  }
  writeFileSync(file, stream(commands, perCommand, c, c.warmup, checks, base));
  for (const f of readdirSync(dir).filter((f) => f.startsWith('callgrind.out.'))) rmSync(join(dir, f));
  await run('callgrind_control', ['-z', String(server.pid)]);
  await run('callgrind_control', ['-i', 'on', String(server.pid)]);
  await pipe(server.port, file);
  await run('callgrind_control', ['-i', 'off', String(server.pid)]);
  await run('callgrind_control', ['-d', String(server.pid)]);
  const dump = readdirSync(dir).find((f) => f.startsWith('callgrind.out.') && readFileSync(join(dir, f), 'utf8').length > 0);
  if (!dump) throw new Error('callgrind wrote no dump');
  if (process.env.INSTRUCTIONS_DUMPS) copyFileSync(join(dir, dump), join(process.env.INSTRUCTIONS_DUMPS, `${c.plan}-${perCommand}.callgrind`));
  const by = await annotate(join(dir, dump));
  const get = (name: string) => by.get(name) ?? 0;
  const script = get('fcallCommand') + get('evalShaCommand');
  const inLua = get('lua_pcall');
  const commandsCost = get('scriptCall');
  const per = (n: number) => Math.round(n / checks);
  return { total: per(get('TOTAL')), framing: per(get('TOTAL') - script), args: per(script - inLua), commands: per(commandsCost), lua: per(inLua - commandsCost) };
}

/** rate-limiter-flexible's RateLimiterRedis script and the EVALSHA it sends for one check. */
async function flexibleCommand(): Promise<{ lua: string; command: (id: string) => Command }> {
  const { RateLimiterRedis } = await import('rate-limiter-flexible');
  let lua = '';
  const recorder = { defineCommand: (_: string, d: { lua: string }) => (lua = d.lua) };
  new RateLimiterRedis({ storeClient: recorder, keyPrefix: 'rlf', points: SPEC.limit, duration: SPEC.windowMs / 1000 });
  const { createHash } = await import('node:crypto');
  const sha = createHash('sha1').update(lua).digest('hex');
  // as its ioredis defineCommand sends it: key, points, secDuration, this.points, this.duration
  return { lua, command: (id) => ['EVALSHA', sha, '1', `rlf:${id}`, '1', String(SPEC.windowMs / 1000), String(SPEC.limit), String(SPEC.windowMs / 1000)] };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/**
 * Bytes of a sliding log by its length (MEMORY USAGE SAMPLES 0 of the log key, written through
 * the store's own check path on a plain private redis-server), and per entry: the growth from
 * one entry, divided by the entries added.
 */
export async function logMemory(lengths: readonly number[] = [1, 16, 64, 128, 129, 256, 1024, 4096, 16_384]): Promise<{ entries: number; bytes: number; perEntry: number }[]> {
  const server = await startPrivateRedis();
  const redis = new Redis(server.url);
  try {
    const plans = { log: { limits: [{ name: 'log', limit: 1_000_000, window: '1 h' }] } } satisfies PlansConfig;
    let t = 1_700_000_000_000;
    const store = createRedisStore({ client: redis, prefix: 'm', batch: 1 });
    const limiter = createRateLimiter({ plans, store, controls: false, topConsumers: false, denyCache: false, logger: false, clock: () => t });
    const out: { entries: number; bytes: number; perEntry: number }[] = [];
    let one = 0;
    for (const entries of lengths) {
      const id = `len-${entries}`;
      for (let i = 0; i < entries; i++, t++) await limiter.check(id, { plan: 'log' });
      const bytes = Number(await redis.call('MEMORY', 'USAGE', store.keys(id).log('log'), 'SAMPLES', '0'));
      if (entries === 1) one = bytes;
      out.push({ entries, bytes, perEntry: entries === 1 ? 0 : (bytes - one) / (entries - 1) });
    }
    await limiter.close();
    return out;
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'airl-instructions-'));
  const server = await startCallgrind(dir);
  const out: string[] = [];
  try {
    const redis = new Redis(server.port, '127.0.0.1');
    await redis.call('FUNCTION', 'LOAD', 'REPLACE', scripts.library.source);
    const rlf = await flexibleCommand();
    await redis.script('LOAD', rlf.lua);
    redis.disconnect();
    const rows: { name: string; c: Counted }[] = [];
    const rlfCase: InstructionCase = { name: 'rate-limiter-flexible', plan: 'fixed-window', ids: 100, stepMs: 1, warmup: 1000 };
    // its key carries the identifier; '#0' is replaced per check
    const flexible = await count(server, dir, [rlf.command('#0')], 1, rlfCase);
    rows.push({ name: 'rate-limiter-flexible RateLimiterRedis (1 per call)', c: flexible });
    process.stderr.write('rate-limiter-flexible: done\n');
    for (const c of CASES.filter((c) => !process.env.INSTRUCTIONS_CASES || process.env.INSTRUCTIONS_CASES.split(',').includes(c.plan))) {
      const single = await captureChecks(c, 1);
      rows.push({ name: `${c.name}, 1 per call`, c: await count(server, dir, single.steady, 1, c, CHECKS, single.learn) });
      const batched = await captureChecks(c, BATCH);
      rows.push({ name: `${c.name}, ${BATCH} per call`, c: await count(server, dir, batched.steady, BATCH, c, CHECKS, batched.learn) });
      process.stderr.write(`${c.name}: done\n`);
    }
    out.push(
      `Instructions per check inside redis-server (callgrind; ${fmt(CHECKS)} checks counted per row, after a warm-up to the steady state):`,
      '',
      '| case | instructions / check | vs rate-limiter-flexible | framing | Lua call | Redis commands | Lua logic |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...rows.map(({ name, c }) => `| ${name} | ${fmt(c.total)} | ${(c.total / flexible.total).toFixed(2)}x | ${fmt(c.framing)} | ${fmt(c.args)} | ${fmt(c.commands)} | ${fmt(c.lua)} |`),
    );
    const memory = await logMemory();
    out.push(
      '',
      'Memory of a sliding log (MEMORY USAGE of its key; per entry: growth from 1 entry / entries added):',
      '',
      '| entries | bytes | bytes per entry |',
      '|---:|---:|---:|',
      ...memory.map((m) => `| ${fmt(m.entries)} | ${fmt(m.bytes)} | ${m.entries === 1 ? '' : m.perEntry.toFixed(1)} |`),
    );
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
