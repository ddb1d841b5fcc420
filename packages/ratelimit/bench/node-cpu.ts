// Node CPU per check only, quickly: the steady workload of `run.ts` (100 calls in flight, 10,000
// identifiers, every call allowed) for a few rows, short rounds interleaved, printing this
// process's CPU µs per check (process.cpuUsage, close included) and checks/s. A tool for work on
// the engine's own cost between full benchmark runs; its numbers are not the published ones.
//
//   pnpm build && pnpm exec tsx bench/node-cpu.ts   (the built package, as users run it: see engine.ts)
//   NODE_CPU_ROWS=ours-log,rlf   NODE_CPU_ROUNDS=3   NODE_CPU_SECONDS=2
//   REDIS_URL=redis://...        use that Redis (default: a private redis-server on a free port)
import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { drive, median, type Workload } from './harness';
import type { Implementation, LimitSpec } from './implementation';
import { removeKeys } from './keys';
import { ours } from './ours';
import { flexible } from './peers/rate-limiter-flexible';
import { startPrivateRedis } from './private-redis';

const ROWS = (process.env.NODE_CPU_ROWS ?? 'ours-log,ours-window,ours-plan3,rlf').split(',').map((s) => s.trim());
const ROUNDS = Math.min(20, Number(process.env.NODE_CPU_ROUNDS ?? 3));
const SECONDS = Math.min(10, Number(process.env.NODE_CPU_SECONDS ?? 2));
const STEADY: LimitSpec = { limit: 1000, windowMs: 10_000 };
const W: Workload = { inFlight: 100, identifiers: 10_000, durationMs: SECONDS * 1000, warmupMs: 500, seed: 42 };

const privateRedis = process.env.REDIS_URL ? undefined : await startPrivateRedis();
const url = privateRedis?.url ?? process.env.REDIS_URL!;
const RUN = `airl-node-cpu:${randomUUID().slice(0, 8)}`;

const rows: Record<string, () => Implementation> = {
  'ours-log': () => ours({ id: 'ours-log', label: 'ours-log', prefix: `${RUN}:ours-log`, url, spec: STEADY, plan: 'log' }),
  'ours-log-lean': () =>
    ours({ id: 'ours-log-lean', label: 'ours-log-lean', prefix: `${RUN}:ours-log-lean`, url, spec: STEADY, plan: 'log', options: { topConsumers: false, controls: false } }),
  'ours-window': () => ours({ id: 'ours-window', label: 'ours-window', prefix: `${RUN}:ours-window`, url, spec: STEADY, plan: 'window' }),
  'ours-plan3': () => ours({ id: 'ours-plan3', label: 'ours-plan3', prefix: `${RUN}:ours-plan3`, url, spec: STEADY, plan: 'plan3' }),
  rlf: () => flexible({ id: 'rlf', label: 'rlf', prefix: `${RUN}:rlf`, url, spec: STEADY }),
};

const results = new Map<string, { cpu: number[]; rate: number[] }>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < ROWS.length; i++) {
      const id = ROWS[(i + round) % ROWS.length]!;
      const make = rows[id];
      if (!make) throw new Error(`unknown row '${id}' (one of ${Object.keys(rows).join(', ')})`);
      const session = await make().open();
      await drive(session.check, W, W.warmupMs, W.seed + 1_000_003, false);
      const sent0 = session.sent();
      const sample = await drive(session.check, W, W.durationMs, W.seed, false);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await session.close();
      const closeCpu = process.cpuUsage(cpu0);
      const sentPerCheck = (session.sent() - sent0) / sample.checks;
      if (sample.errors) throw new Error(`${id}: ${sample.errors} errors, first: ${sample.firstError}`);
      const cpuPerCheck = (sample.nodeCpuUs + closeCpu.user + closeCpu.system) / sample.checks;
      const rate = (sample.checks / (sample.elapsedMs + performance.now() - t0)) * 1000;
      const r = results.get(id) ?? { cpu: [], rate: [] };
      r.cpu.push(cpuPerCheck);
      r.rate.push(rate);
      results.set(id, r);
      process.stderr.write(`round ${round + 1} ${id}: ${cpuPerCheck.toFixed(2)} µs/check, ${Math.round(rate)} checks/s, ${sentPerCheck.toFixed(3)} commands/check\n`);
    }
  }
  process.stdout.write('row            Node CPU µs/check (median, rounds)    checks/s (median)\n');
  for (const id of ROWS) {
    const r = results.get(id)!;
    const rounds = r.cpu.map((v) => v.toFixed(1)).join(' ');
    process.stdout.write(`${`${id.padEnd(14)} ${median(r.cpu).toFixed(2).padStart(6)}  (${rounds})`.padEnd(52)}${Math.round(median(r.rate))}\n`);
  }
} finally {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  await removeKeys(redis, `${RUN}:`).catch(() => undefined);
  redis.disconnect();
  await privateRedis?.stop();
}
