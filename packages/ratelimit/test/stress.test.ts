// Promises kept under stress, against real servers this file starts on loopback: a CPU-starved
// host (slow is not down), several instances through an outage (the fallback's shared bound),
// and instances whose clocks disagree. Each prints its numbers.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { type Server, startServer } from '@airl/vitest-config/redis';

import type { PlansConfig } from '../src/index';
import type { Burst, BurstReport } from './fixtures/limiter-worker';

const worker = fileURLToPath(new URL('./fixtures/limiter-worker.ts', import.meta.url));
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve(c()).catch(() => undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Worker {
  child: ChildProcess;
  burst(b: Burst): Promise<BurstReport>;
}

/** Starts a limiter in a child process and waits until it has reached Redis. */
async function startWorker(env: Record<string, string>): Promise<Worker> {
  const child = fork(worker, { env: { ...process.env, ...env }, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup.push(() => child.kill('SIGKILL'));
  const waiting: ((m: BurstReport) => void)[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`limiter worker exited with ${code}`)));
    child.on('message', (m: { type: string }) => {
      if (m.type === 'ready') resolve();
      else waiting.shift()?.(m as BurstReport);
    });
  });
  await ready;
  return {
    child,
    burst: (b) =>
      new Promise<BurstReport>((resolve) => {
        waiting.push(resolve);
        child.send(b);
      }),
  };
}

/** CPU hogs beside the test, each stopping by itself after `ms` (and killed at the end). */
function busyLoops(count: number, ms: number): () => void {
  const hogs = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; while (Date.now() < end) {}`], { stdio: 'ignore' }),
  );
  const stop = () => hogs.forEach((h) => h.kill('SIGKILL'));
  cleanup.push(stop);
  return stop;
}

describe('a CPU-starved host: slow is not down', () => {
  it('8 processes x 400 concurrent checks (cost 1-5) on one identifier, limit 300 per hour, 5 busy loops beside them: at most 300 admitted', { timeout: 90_000 }, async () => {
    const server: Server = await startServer();
    cleanup.push(() => server.stop());
    const plans = { hourly: { limits: [{ name: 'hour', limit: 300, window: '1 h' }] } } satisfies PlansConfig;
    const env = { REDIS_URL: `redis://127.0.0.1:${server.port}`, PREFIX: 'starved', TIMEOUT_MS: '1000', PLANS: JSON.stringify(plans) };
    const workers = await Promise.all(Array.from({ length: 8 }, () => startWorker(env)));
    const stop = busyLoops(5, 30_000);
    await sleep(500);
    const costs = () => Array.from({ length: 400 }, (_, i) => 1 + ((i * 7) % 5));
    const reports = await Promise.all(workers.map((w) => w.burst({ id: 'creator-1', plan: 'hourly', costs: costs() })));
    stop();
    const admitted = reports.reduce((sum, r) => sum + r.admitted, 0);
    const degraded = reports.map((r) => r.degraded);
    process.stdout.write(
      `CPU-starved contention: ${admitted} admitted against a limit of 300 (${reports.map((r) => r.admitted).join(' / ')} per process), ` +
        `slowest call ${Math.max(...reports.map((r) => r.maxMs))} ms, degraded answers ${JSON.stringify(degraded)}\n`,
    );
    expect(reports.reduce((sum, r) => sum + r.calls, 0)).toBe(3200);
    expect(admitted).toBeLessThanOrEqual(300);
    // Redis was up the whole time: it decided (at least most of) the admissions
    expect(admitted).toBeGreaterThan(0);
    for (const w of workers) w.child.send('exit');
  });
});
