// `npm run bench` (or `pnpm --filter @airl/ratelimit bench`): this project's limiters beside
// rate-limiter-flexible, one run, one local Redis, one workload. Prints a markdown table.
//   BENCH_SECONDS (default 5), BENCH_IN_FLIGHT (100), BENCH_IDENTIFIERS (10000), REDIS_URL
import { randomUUID } from 'node:crypto';
import os from 'node:os';

import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';

import { createRateLimiter, type PlansConfig } from '../src/index';
import { createRedisStore } from '../src/redis';
import { type Call, measure, type Measurement, type Workload } from './harness';

const workload: Workload = {
  inFlight: Number(process.env.BENCH_IN_FLIGHT ?? 100),
  identifiers: Number(process.env.BENCH_IDENTIFIERS ?? 10_000),
  durationMs: Number(process.env.BENCH_SECONDS ?? 5) * 1000,
  warmupMs: 1000,
  seed: 42,
};
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = new Redis(url);
const runId = randomUUID().slice(0, 6);

const plans = {
  'sliding-log': { limits: [{ name: 'hour', limit: 1000, window: '1 h' }] },
  'sliding-window': { limits: [{ name: 'hour-sw', limit: 1000, window: '1 h', algorithm: 'sliding-window' }] },
  'token-bucket': { limits: [{ name: 'hour-tb', limit: 1000, window: '1 h', algorithm: 'token-bucket' }] },
  'three-limits': {
    limits: [
      { name: 'minute', limit: 100, window: '1 m' },
      { name: 'hour-3', limit: 1000, window: '1 h', algorithm: 'sliding-window' },
      { name: 'tokens', limit: 10_000_000, window: '1 d', unit: 'tokens', algorithm: 'sliding-window' },
    ],
  },
} satisfies PlansConfig;

function ours(plan: keyof typeof plans, cost?: number): Call {
  const limiter = createRateLimiter({ plans, store: createRedisStore({ client: redis, prefix: `bench-${runId}-${plan}` }) });
  return async (id) => (await limiter.check(id, { plan, ...(cost && { cost }) })).allowed;
}

function flexible(): Call {
  const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: `bench-${runId}-rlf`, points: 1000, duration: 3600 });
  return async (id) => {
    try {
      await limiter.consume(id);
      return true;
    } catch (rejection) {
      if (rejection instanceof Error) throw rejection;
      return false;
    }
  };
}

const implementations: [string, Call][] = [
  ['sliding log (exact, 1 limit)', ours('sliding-log')],
  ['sliding-window counter', ours('sliding-window')],
  ['token bucket (GCRA)', ours('token-bucket')],
  ['three limits: minute log + hour counter + tokens/day', ours('three-limits', 250)],
  ['rate-limiter-flexible RateLimiterRedis (fixed window)', flexible()],
];

const rows: [string, Measurement][] = [];
for (const [name, call] of implementations) {
  process.stderr.write(`measuring ${name}...\n`);
  rows.push([name, await measure(call, workload)]);
}

const reference = rows.find(([n]) => n.startsWith('rate-limiter-flexible'))![1].checksPerSecond;
const fmt = (n: number, digits = 2) => n.toFixed(digits);
let out = `\n${workload.inFlight} calls in flight, ${workload.identifiers} identifiers, ${workload.durationMs / 1000} s each, seed ${workload.seed}; ` +
  `Redis ${url.replace(/\/\/[^@]*@/, '//***@')}; Node ${process.version}; ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}\n\n`;
out += '| implementation | checks/s | vs rate-limiter-flexible | p50 ms | p99 ms | allowed | errors |\n|---|---:|---:|---:|---:|---:|---:|\n';
for (const [name, m] of rows) {
  out += `| ${name} | ${Math.round(m.checksPerSecond).toLocaleString('en')} | ${fmt(m.checksPerSecond / reference)}x | ${fmt(m.p50Ms)} | ${fmt(m.p99Ms)} | ${fmt(m.allowedShare * 100, 0)}% | ${m.errors} |\n`;
}
process.stdout.write(out);
await redis.quit();
