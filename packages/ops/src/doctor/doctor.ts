// The connection doctor: connects the way the app does (same environment variables, same client
// factory), times PING/SET/GET/DEL, reads what the server is and how it is set up, and loads the
// limiter's scripts. It writes only its own short-lived keys and deletes them.
import { createRedisClient, type RedisConnectionConfig } from '@airl/ratelimit/redis';
import type { RedisOptions } from 'ioredis';

import { type CheckResult, worstLevel } from '../checks';
import { errorText, redact } from './hints';
import { type Client, withTimeout } from './server';
import { configStep, deadlineStep, type Findings, PROBE_STEPS, type Probe } from './steps';
import type { DoctorOptions, DoctorReport } from './types';

export type { DoctorOptions, DoctorReport, NodeReport } from './types';

/**
 * Runs every check against the Redis the environment points at: configuration, connection,
 * server, round trips, scripts, each a step of steps.ts. Never throws; resolves within `deadlineMs`
 * (and a moment to close).
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = performance.now();
  const report = collect();
  const setup = configStep(options.env ?? process.env);
  report.add(setup);
  const config = setup.config;
  const finish = () => report.finish(started, config?.password);
  if (!config) return finish();

  const opened = openClient(config, options);
  if ('checks' in opened) {
    report.add(opened);
    return finish();
  }
  const { client, firstError } = opened;
  const deadlineMs = options.deadlineMs ?? 30_000;
  const outcome = await untilDeadline(client, deadlineMs, (stopped) =>
    probe({ client, config, overrides: opened.overrides, options, firstError, stopped }, report.add),
  );
  if (outcome === 'deadline') {
    report.add(deadlineStep(deadlineMs));
    return finish();
  }
  await withTimeout(client.quit(), 1000, 'closing').catch(() => client.disconnect());
  return finish();
}

/** The steps against the server, in order; each one's findings are in the report as soon as it ends. */
async function probe(p: Probe, add: (found: Findings) => void): Promise<void> {
  for (const step of PROBE_STEPS) {
    if (p.stopped()) return;
    const found = await step(p);
    add(found);
    if (found.stop) return;
  }
}

/** The report being filled in, step by step. */
function collect() {
  const checks: CheckResult[] = [];
  const found: Omit<Findings, 'checks' | 'stop'> = {};
  return {
    add: ({ checks: more, stop: _, ...parts }: Findings) => {
      checks.push(...more);
      Object.assign(found, parts);
    },
    finish: (started: number, password: string | undefined): DoctorReport =>
      redact(
        {
          status: worstLevel(checks),
          target: found.target,
          server: found.server,
          tls: found.tls,
          latency: found.latency,
          scripts: found.scripts,
          // a copy: a probe cut off by the deadline may still be settling
          checks: [...checks],
          meta: { timestamp: new Date().toISOString(), durationMs: Math.round(performance.now() - started) },
        },
        password,
      ),
  };
}

/** The client, not yet connected, or the failed check when it cannot even be made. */
function openClient(config: RedisConnectionConfig, options: DoctorOptions): Findings | { client: Client; overrides: RedisOptions; firstError: () => unknown } {
  // fail fast, once: the doctor reports what is wrong instead of waiting through reconnects
  const overrides: RedisOptions = {
    connectTimeout: options.connectTimeoutMs ?? 5000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  };
  let client: Client;
  try {
    client = createRedisClient(config, overrides);
  } catch (error) {
    return { checks: [{ id: 'config', level: 'fail', message: errorText(error) }] };
  }
  let first: unknown;
  const remember = (error: unknown) => {
    first ??= error;
  };
  client.on('error', remember);
  client.on('node error', remember);
  return { client, overrides, firstError: () => first };
}

/**
 * Runs `work` until it ends or the deadline passes; at the deadline the client is dropped, so
 * that no open socket keeps the process (and the deploy step) waiting after the report is out.
 */
async function untilDeadline(client: Client, deadlineMs: number, work: (stopped: () => boolean) => Promise<void>): Promise<'done' | 'deadline'> {
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => {
      expired = true;
      client.disconnect();
      resolve('deadline');
    }, deadlineMs);
  });
  const outcome = await Promise.race([work(() => expired).then(() => 'done' as const), deadline]);
  clearTimeout(timer);
  return outcome;
}

