// `npm run soak`: a steady rate against the local Redis for a set time, reporting errors,
// latency percentiles, Redis memory and process memory every interval. Windows are short, so
// state reaches its steady size early; the run fails (exit 1) if memory keeps growing after that.
// Redis figures are the whole server's: soak a Redis nothing else is using. Anomaly detection is
// on with its default rules, as users run it: its counters are part of the memory measured.
// Every one of these creators stays within 2 x its limits, so none should be raised.
//   SOAK_SECONDS (120), SOAK_RATE checks/s (2000), SOAK_IDENTIFIERS (5000), REDIS_URL
import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { createRateLimiter } from '../src/index';
import { createRedisStore } from '../src/redis';

const seconds = Number(process.env.SOAK_SECONDS ?? 120);
const rate = Number(process.env.SOAK_RATE ?? 2000);
const identifiers = Number(process.env.SOAK_IDENTIFIERS ?? 5000);
const intervalMs = 5000;
const WINDOW_MS = 20_000;

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `soak-${randomUUID().slice(0, 8)}`;
let anomalies = 0;
const limiter = createRateLimiter({
  plans: {
    pro: {
      limits: [
        { name: 'burst', limit: 5, window: WINDOW_MS },
        { name: 'tokens', limit: 2000, window: WINDOW_MS, unit: 'tokens', algorithm: 'sliding-window' },
      ],
    },
  },
  store: createRedisStore({ client: redis, prefix }),
  logger: false,
  anomalies: { onAnomaly: () => void anomalies++ },
});

interface Sample {
  t: number;
  checks: number;
  allowed: number;
  errors: number;
  p50: number;
  p99: number;
  redisMB: number;
  keys: number;
  rssMB: number;
  heapMB: number;
}

const samples: Sample[] = [];
let latencies: number[] = [];
let checks = 0;
let allowed = 0;
let errors = 0;

async function redisMemory(): Promise<{ mb: number; keys: number }> {
  const info = await redis.info('memory');
  const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
  return { mb: used / 1e6, keys: await redis.dbsize() };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

const started = Date.now();
const deadline = started + seconds * 1000;
let n = 0;
const pending = new Set<Promise<void>>();
// a steady schedule: `rate` calls per second, whatever their latency (open loop)
const tick = setInterval(() => {
  const due = Math.floor(((Date.now() - started) / 1000) * rate) - n;
  for (let i = 0; i < due; i++) {
    n++;
    const t0 = performance.now();
    const p = limiter
      .check(`creator-${n % identifiers}`, { plan: 'pro', cost: 1 + (n % 300) })
      .then((r) => {
        checks++;
        if (r.allowed) allowed++;
        if (r.degraded) errors++;
      })
      .catch(() => {
        errors++;
      })
      .finally(() => {
        latencies.push(performance.now() - t0);
        pending.delete(p);
      });
    pending.add(p);
  }
}, 10);

const header = '|   t s | checks/s | allowed | errors | p50 ms | p99 ms | Redis MB | keys   | RSS MB | heap MB |';
process.stdout.write(`soak: ${rate} checks/s for ${seconds} s over ${identifiers} identifiers, windows of ${WINDOW_MS / 1000} s\n\n${header}\n|${'---|'.repeat(10)}\n`);
while (Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, intervalMs));
  const sorted = latencies.sort((a, b) => a - b);
  latencies = [];
  const mem = await redisMemory();
  // live heap, not garbage waiting for collection (`--expose-gc`, as the soak script runs it)
  (globalThis as { gc?: () => void }).gc?.();
  const usage = process.memoryUsage();
  const s: Sample = {
    t: Math.round((Date.now() - started) / 1000),
    checks,
    allowed,
    errors,
    p50: pct(sorted, 0.5),
    p99: pct(sorted, 0.99),
    redisMB: mem.mb,
    keys: mem.keys,
    rssMB: usage.rss / 1e6,
    heapMB: usage.heapUsed / 1e6,
  };
  samples.push(s);
  const cells = [s.t, Math.round(checks / (intervalMs / 1000)), allowed, errors, s.p50.toFixed(2), s.p99.toFixed(2), s.redisMB.toFixed(1), s.keys, s.rssMB.toFixed(0), s.heapMB.toFixed(1)];
  process.stdout.write(`| ${cells.map(String).join(' | ')} |\n`);
  checks = allowed = errors = 0;
}
clearInterval(tick);
await Promise.all(pending);

// steady after three windows; judge the growth over the rest of the run
const steady = samples.filter((s) => s.t * 1000 >= 3 * WINDOW_MS);
const growth = (pick: (s: Sample) => number) => {
  if (steady.length < 4) return 0;
  const half = Math.floor(steady.length / 2);
  const avg = (xs: Sample[]) => xs.reduce((sum, s) => sum + pick(s), 0) / xs.length;
  return (avg(steady.slice(half)) - avg(steady.slice(0, half))) / avg(steady.slice(0, half));
};
const verdicts = [
  ['Redis memory', growth((s) => s.redisMB)],
  ['Redis keys', growth((s) => s.keys)],
  ['process heap', growth((s) => s.heapMB)],
] as const;
let failed = steady.length < 4;
process.stdout.write(`\nonce steady (after ${(3 * WINDOW_MS) / 1000} s), second half against first half:\n`);
for (const [what, g] of verdicts) {
  const ok = g < 0.1;
  failed ||= !ok;
  process.stdout.write(`- ${what}: ${(g * 100).toFixed(1)}% ${ok ? 'flat' : 'GROWING'}\n`);
}
if (steady.length < 4) process.stdout.write(`- too short to judge: run for at least ${(5 * WINDOW_MS) / 1000} s\n`);
process.stdout.write(`- anomalies raised: ${anomalies}\n`);
// what one identifier costs Redis, anomaly counters included (MEMORY USAGE of a sample)
const sample = Array.from({ length: 50 }, (_, i) => `${prefix}:{creator-${i}}`);
const sizes = (await Promise.all(sample.map((k) => redis.call('MEMORY', 'USAGE', k)))).map(Number).filter((b) => b > 0);
if (sizes.length > 0) process.stdout.write(`- state hash per identifier: ${Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length)} bytes (mean of ${sizes.length})\n`);
await limiter.close();
let cursor = '0';
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
  cursor = next;
  if (keys.length) await redis.unlink(...keys);
} while (cursor !== '0');
await redis.quit();
process.exit(failed ? 1 : 0);
