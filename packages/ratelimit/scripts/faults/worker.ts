// One process of a multi-process fault (see faults.ts): runs a bounded number of checks on one
// identifier through its own limiter and connection, then prints one JSON line (WorkerReport).
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { createRateLimiter } from '../../src/index';
import { createRedisClient, createRedisStore } from '../../src/redis';
import type { WorkerReport, WorkerTask } from './faults';

const task = JSON.parse(process.argv[2]!) as WorkerTask;
if (task.skewMs !== 0) {
  // this process's clock runs ahead (or behind) by skewMs
  const real = Date.now;
  Date.now = () => real() + task.skewMs;
}

const store = createRedisStore({
  client: () => createRedisClient({ host: '127.0.0.1', port: task.port, tls: false, username: undefined, password: undefined, cluster: false }),
  prefix: task.prefix,
  timeout: 1000,
});
const limiter = createRateLimiter({
  plans: { p: { limits: [{ name: 'limit', limit: task.limit, window: task.window, unit: 'units' }] } },
  store,
  clock: task.clock,
  logger: false,
  topConsumers: false,
});

const report: WorkerReport = { admitted: 0, calls: 0, degraded: 0, worstMs: 0, p99Ms: 0, errors: 0, lagMs: 0 };
// how late this process's event loop ran: no timer (the store's timeout included) fires sooner
const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const durations: number[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: task.concurrency }, async () => {
    while (next < task.checks) {
      const i = next++;
      const cost = 1 + (i % task.maxCost);
      const started = performance.now();
      try {
        const r = await limiter.check(task.identifier, { plan: 'p', cost });
        if (r.allowed) report.admitted += cost;
        if (r.degraded !== undefined) report.degraded++;
      } catch {
        report.errors++;
      }
      durations.push(performance.now() - started);
      report.calls++;
      if (task.pauseMs > 0) await new Promise((r) => setTimeout(r, task.pauseMs));
    }
  }),
);
durations.sort((a, b) => a - b);
report.worstMs = Math.round(durations.at(-1) ?? 0);
lag.disable();
report.lagMs = Math.round(lag.max / 1e6);
report.p99Ms = Math.round(durations[Math.min(durations.length - 1, Math.floor(durations.length * 0.99))] ?? 0);
await limiter.close();
await store.close?.();
process.stdout.write(`${JSON.stringify(report)}\n`);
