// Latency of a limit check through the Lambda path, here: the real AWS SDK client -> a local
// endpoint speaking Lambda's Invoke API (HTTP on loopback, in another process: bench/lambda-function.ts)
// -> the real handler -> the Redis store -> Redis. Compared with the Redis store called directly. What this cannot show: Lambda's own
// service overhead, the network between Amplify's compute and Lambda, and cold starts.
//
//   REDIS_URL=redis://127.0.0.1:6379 pnpm --filter @airl/ratelimit run bench:lambda
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Redis } from 'ioredis';

import { dummyAws } from '@airl/vitest-config/lambda-endpoint';

import { createRateLimiter, type PlansConfig, type RateLimiter } from '../src/index';
import { createLambdaStore } from '../src/lambda';
import { createRedisStore } from '../src/redis';

const SINGLE = Number(process.env.LAMBDA_BENCH_CHECKS ?? 2000);
const BATCHES = Number(process.env.LAMBDA_BENCH_BATCHES ?? 200);
const plans = { p: { limits: [{ name: 'minute', limit: 1_000_000, window: '1 m' }] } } satisfies PlansConfig;

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefix = `bench-lambda-${randomUUID().slice(0, 8)}`;
const fn = spawn(process.execPath, ['--import', 'tsx', new URL('lambda-function.ts', import.meta.url).pathname], {
  env: { ...process.env, BENCH_PREFIX: prefix },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [url] = (await once(createInterface({ input: fn.stdout }), 'line')) as [string];
const sdk = new LambdaClient({ ...dummyAws, endpoint: url, maxAttempts: 1 });
/** Time spent inside the handler since the last call, from the function's process. */
const handlerMs = async (): Promise<number[]> =>
  JSON.parse(new TextDecoder().decode((await sdk.send(new InvokeCommand({ FunctionName: 'stats' }))).Payload)) as number[];

const quiet = { plans, logger: false, controls: false, topConsumers: false, denyCache: false } as const;
const direct = createRateLimiter({ ...quiet, store: createRedisStore({ client: redis, prefix: `${prefix}-direct` }) });
const viaLambda = createRateLimiter({ ...quiet, store: createLambdaStore({ functionName: 'limiter', client: sdk, timeout: '10 s' }) });

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const row = (name: string, xs: number[], per = 1) =>
  `| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(2)} | ${pct(xs, 95).toFixed(2)} | ${pct(xs, 99).toFixed(2)} | ${(pct(xs, 50) / per).toFixed(3)} |`;

let n = 0;
async function sequential(limiter: RateLimiter<'p'>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const r = await limiter.check(`id-${n++}`, { plan: 'p' });
    times.push(performance.now() - t);
    if (!r.allowed || r.degraded) throw new Error('bench: a check was not answered by the store');
  }
  return times;
}
async function batches(limiter: RateLimiter<'p'>, size: number, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const rs = await Promise.all(Array.from({ length: size }, () => limiter.check(`id-${n++}`, { plan: 'p' })));
    times.push(performance.now() - t);
    if (rs.some((r) => !r.allowed || r.degraded)) throw new Error('bench: a check was not answered by the store');
  }
  return times;
}

// warm up connections, the Lua library and the JIT
await sequential(direct, 200);
await sequential(viaLambda, 200);
await handlerMs();

const lines = [
  `Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; times in ms`,
  '',
  '| path | calls | p50 | p95 | p99 | p50 per check |',
  '| --- | --- | --- | --- | --- | --- |',
  row('Redis store, one check at a time', await sequential(direct, SINGLE)),
];
await handlerMs();
lines.push(row('Lambda store, one check at a time', await sequential(viaLambda, SINGLE)));
lines.push(row('  of which inside the handler (validation + Redis)', await handlerMs()));
for (const size of [10, 64]) {
  lines.push(row(`Redis store, ${size} checks in one tick (per batch)`, await batches(direct, size, BATCHES), size));
  lines.push(row(`Lambda store, ${size} checks in one tick = one invocation (per batch)`, await batches(viaLambda, size, BATCHES), size));
  lines.push(row('  of which inside the handler', await handlerMs(), size));
}
const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
process.stdout.write(`${[...lines, '', `load average (1 min) at the end: ${load} on ${(await import('node:os')).cpus().length} cores`].join('\n')}\n`);

await Promise.all([direct.close(), viaLambda.close()]);
sdk.destroy();
fn.kill('SIGTERM');
await once(fn, 'exit');
// this run's keys only
for (const pattern of [`${prefix}:*`, `${prefix}-direct:*`]) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}
await redis.quit();
