// The ceiling: redis-benchmark sending this project's own check function by FCALL, with the keys
// and arguments src/stores/redis/ sends (captured from the store itself, not rewritten here),
// the identifier replaced by `__rand_int__` so keys spread over the workload's identifiers.
import { spawn } from 'node:child_process';

import { createRateLimiter, type RateLimiterOptions } from '../src/index';
import * as scripts from '../src/lua/scripts.generated';
import { createRedisStore, type RedisClient } from '../src/redis';
import type { LimitSpec } from './implementation';
import { type BenchPlan, benchPlans } from './plans';

/** The identifier redis-benchmark replaces with a random 12-digit number below `-r`. */
export const RAND = '__rand_int__';

/**
 * `FCALL <function> numkeys keys... args...` for one check of `plan` (a sliding-log limit by
 * default), as the store sends it, with the identifier `__rand_int__`.
 */
export async function checkCommand(prefix: string, spec: LimitSpec, plan: BenchPlan = 'log', options: CheckCommandOptions = {}): Promise<string[]> {
  let captured: (string | number)[] | undefined;
  const plans = benchPlans(spec);
  // one group (see check.lua): the server's now, then the check: allowed (no status for a plan of
  // one limit without anomaly rules), and per limit remaining, resetAt
  const limits = plans[plan].limits;
  const status = limits.length === 1 && !options.limiter?.anomalies ? [] : [1];
  const reply = [0, ...status, ...limits.flatMap(() => [0, 0])];
  const recorder = {
    on: () => recorder,
    defineCommand: () => undefined,
    call: (...args: (string | number)[]) => {
      if (args[0] === 'FCALL') captured ??= args;
      return Promise.resolve(reply);
    },
  };
  const store = createRedisStore({ client: recorder as unknown as RedisClient, prefix });
  const limiter = createRateLimiter({ plans, store, controls: false, topConsumers: false, denyCache: false, logger: false, ...options.limiter });
  await limiter.check(RAND, options.cost === undefined ? { plan } : { plan, cost: options.cost });
  await limiter.close();
  if (captured?.[0] !== 'FCALL') throw new Error('the store sent no FCALL: has src/stores/redis/ changed how it calls its functions?');
  return captured.map(String);
}

export interface CheckCommandOptions {
  /** The call's cost (default 1). */
  readonly cost?: number;
  /** Limiter options beyond the bench's (for example `{ anomalies: {} }`). */
  readonly limiter?: Partial<RateLimiterOptions>;
}

export interface CeilingResult {
  readonly checksPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requests: number;
}

export interface CeilingOptions {
  readonly url: string;
  readonly command: readonly string[];
  /** redis-benchmark -r: identifiers. */
  readonly identifiers: number;
  /** -c: connections. */
  readonly clients: number;
  /** -P: requests per pipeline (1: none). */
  readonly pipeline: number;
  /** -n: total requests. */
  readonly requests: number;
}

/** Parses the last line of `redis-benchmark --csv`: "test","rps","avg","min","p50","p95","p99","max". */
export function parseCsv(out: string): CeilingResult & { requests: 0 } {
  const lines = out.trim().split(/\r?\n/).filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
  const last = lines.at(-1);
  if (!last) throw new Error(`redis-benchmark printed no result:\n${out.slice(0, 500)}`);
  const cells = [...last.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const n = (i: number) => Number(cells[i]);
  return { checksPerSecond: n(1), p50Ms: n(4), p99Ms: n(6), requests: 0 };
}

export function runRedisBenchmark(o: CeilingOptions): Promise<CeilingResult> {
  const args = ['-u', o.url, '--csv', '-c', String(o.clients), '-P', String(o.pipeline), '-n', String(o.requests), '-r', String(o.identifiers), ...o.command];
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (error) => reject(new Error(`redis-benchmark could not start (${error.message}); install redis-tools`)));
    child.on('close', (code) => {
      // a script error is printed, not always an exit code
      if (code !== 0 || /error/i.test(err) || /error/i.test(out.split('\n').find((l) => !l.startsWith('"')) ?? '')) {
        reject(new Error(`redis-benchmark failed (exit ${code}): ${(err || out).slice(0, 500)}`));
        return;
      }
      try {
        resolve({ ...parseCsv(out), requests: o.requests });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/** The function library, for FUNCTION LOAD REPLACE. */
export const librarySource = scripts.library.source;
