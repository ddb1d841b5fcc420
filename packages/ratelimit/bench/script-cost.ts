// `pnpm --filter @airl/ratelimit exec tsx bench/script-cost.ts`: what the check function itself costs
// Redis, apart from the network and the client. Starts a private redis-server (so no other
// client's work is counted), loads the function library, sends the check by FCALL with the keys
// and arguments the store sends (time passed in, advancing 1 ms per check), and reports the time
// Redis spends inside FCALL per check (INFO commandstats: the function and the commands it runs,
// not reading the request or writing the reply) in the steady state: every sliding log at its
// working size, trimming expired entries lazily. Beside it, "calls only": a function making the
// same redis.call()s with no logic, the floor for that algorithm's work. The minimum of the rounds
// is the least disturbed by other work on the machine. Time moves by 20%; for figures that repeat,
// see bench/instructions.ts (instructions per check under callgrind).
//
//   SCRIPT_COST_FILE=path/to/scripts.generated.ts   measure another build of the library (a prototype)
import { pathToFileURL } from 'node:url';

import { Redis } from 'ioredis';

import { timeArg } from '../src/lua/protocol';
import * as repo from '../src/lua/scripts.generated';
import { checkCommand, type CheckCommandOptions, RAND } from './ceiling';
import { type BenchPlan, benchPlans } from './plans';
import { startPrivateRedis } from './private-redis';

const N = 20_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

export interface Case {
  readonly name: string;
  readonly plan: BenchPlan;
  readonly options?: CheckCommandOptions;
  /** Identifiers in turn: each gets a check every `ids` ms, so a log of window W holds W / ids entries. */
  readonly ids: number;
  /** Simulated ms of warm-up before measuring: logs reach their working size. */
  readonly warmupMs: number;
  /** The same redis.call()s as the check in its steady state, with as little logic as runs. */
  readonly callsOnly: string;
}

// a log's steady calls (header last, see sliding-log.lua): the short path pops the header and
// pushes the entry and the header back; the general path (plans of several limits) reads the
// header first (LINDEX), then does the same
const logCalls = (key: string, general = false) => `
      local key, now = ${key}, tonumber(ARGV[1], 16)${general ? "\n      redis.call('LINDEX', key, '-1')" : ''}
      local head = redis.call('RPOP', key) or struct.pack('>dI6', 0, 0)
      redis.call('RPUSH', key, struct.pack('>I6', now), head)`;
const PLAN3_FIELDS = "'per-hour.sw', 'tokens-per-day.sw'";
const ANOMALY_FIELD = "'~c'";
const plan3Calls = (fields: string, writes: string) => `${logCalls('KEYS[2]', true)}
      local v = redis.call('HMGET', KEYS[1], ${fields})
      redis.call('HSET', KEYS[1], 'per-hour.sw', struct.pack('>dddd', 1, 1, 0, 0), 'tokens-per-day.sw', struct.pack('>dddd', 1, 250, 0, 0)${writes})
      return {1}`;

// keys and arguments are the store's own (see checkCommand); only the time is the loop's
export const CASES: readonly Case[] = [
  { name: 'sliding log (1 limit, ~100 entries)', plan: 'log', ids: 100, warmupMs: 20_000, callsOnly: `${logCalls('KEYS[1]')}\n      return {1}` },
  {
    name: 'sliding-window counter (1 limit)',
    plan: 'window',
    ids: 100,
    warmupMs: 20_000,
    callsOnly: `
      local v = redis.call('HGET', KEYS[1], 'window.sw')
      redis.call('HSET', KEYS[1], 'window.sw', struct.pack('>dddd', 1, 1, 0, 0))
      return {1}`,
  },
  { name: 'three-limit plan (log per minute, ~60 entries; 2 counters)', plan: 'plan3', options: { cost: 250 }, ids: 1000, warmupMs: 120_000, callsOnly: plan3Calls(PLAN3_FIELDS, '') },
  {
    name: 'three-limit plan with anomaly counters',
    plan: 'plan3',
    options: { cost: 250, limiter: { anomalies: {} } },
    ids: 1000,
    warmupMs: 120_000,
    callsOnly: plan3Calls(`${PLAN3_FIELDS}, ${ANOMALY_FIELD}`, ", '~c', v[3] or string.rep('x', 120)"),
  },
];

/** The calls-only body as a library of its own, function `floor`. */
export const floorLibrary = (body: string) => `#!lua name=airl_cost_floor\nredis.register_function('floor', function(KEYS, ARGV)\n${body}\nend)`;

/** Whether a case's check replies without a status (a plan of one limit, no anomaly rules: see check.lua). */
export const bare = (c: Case): boolean => benchPlans({ limit: 1, windowMs: 1 })[c.plan].limits.length === 1 && !c.options?.limiter?.anomalies;

/**
 * Sends the command `count` times (pipelined), identifier `it % ids` and time `base + it`; returns
 * how many were allowed: by the status, or for a `bare` reply by the sign of remaining (the
 * calls-only function answers {1}: allowed either way).
 */
export async function sendChecks(redis: Redis, fn: string, command: readonly string[], ids: number, base: number, isBare: boolean, count = N): Promise<number> {
  const numkeys = Number(command[2]);
  const keys = command.slice(3, 3 + numkeys);
  // ARGV of the `check` script: the time (replaced per check), then the rest (see check.lua)
  const args = command.slice(4 + numkeys);
  let allowed = 0;
  for (let from = 0; from < count; from += 1000) {
    const pipeline = redis.pipeline();
    for (let it = from; it < Math.min(count, from + 1000); it++) {
      const id = String(it % ids);
      pipeline.call('FCALL', fn, numkeys, ...keys.map((k) => k.replace(RAND, id)), timeArg(base + it), ...args);
    }
    for (const [error, reply] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      // no time first, as the check carried its own
      const first = (reply as number[])[0]!;
      if (isBare ? first >= 0 : (first & 1) === 1) allowed++;
    }
  }
  return allowed;
}

async function main() {
  const library = process.env.SCRIPT_COST_FILE ? ((await import(process.env.SCRIPT_COST_FILE)) as typeof repo).library : repo.library;
  const server = await startPrivateRedis();
  const redis = new Redis(server.url);
  try {
    await redis.call('FUNCTION', 'LOAD', 'REPLACE', library.source);
    // µs inside FCALL per check, over N checks after `warmupMs` of simulated time
    const measure = async (fn: string, command: readonly string[], ids: number, warmupMs: number, isBare: boolean) => {
      await redis.flushall();
      let base = 1_000_000;
      for (let t = 0; t < warmupMs; t += N, base += N) await sendChecks(redis, fn, command, ids, base, isBare);
      await redis.config('RESETSTAT');
      const allowed = await sendChecks(redis, fn, command, ids, base, isBare);
      const usec = Number(/cmdstat_fcall:calls=\d+,usec=(\d+)/.exec(await redis.info('commandstats'))?.[1]);
      if (allowed !== N) throw new Error(`${allowed} of ${N} checks allowed: the case's limits are too small`);
      return usec / N;
    };
    const min = (a: number[]) => Math.min(...a);
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    const out: string[] = ['| case | check function, µs/check (min / median) | calls only | script logic share |', '|---|---:|---:|---:|'];
    const spec = { limit: 100_000, windowMs: 10_000 };
    for (const c of CASES) {
      const command = await checkCommand('c', spec, c.plan, c.options);
      const full: number[] = [];
      const floor: number[] = [];
      await redis.call('FUNCTION', 'LOAD', 'REPLACE', floorLibrary(c.callsOnly));
      for (let r = 0; r < ROUNDS; r++) {
        full.push(await measure(library.functions.check, command, c.ids, c.warmupMs, bare(c)));
        floor.push(await measure('floor', command, c.ids, c.warmupMs, bare(c)));
      }
      out.push(
        `| ${c.name} | ${min(full).toFixed(1)} / ${med(full).toFixed(1)} | ${min(floor).toFixed(1)} / ${med(floor).toFixed(1)} | ${Math.round((1 - min(floor) / min(full)) * 100)}% |`,
      );
      process.stderr.write(`${c.name}: done\n`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
