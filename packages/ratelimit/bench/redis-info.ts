// What Redis did during a measurement, from INFO deltas: top-level commands, every command it
// ran (including those inside scripts), CPU time, memory. One INFO call per snapshot.
import type { Redis } from 'ioredis';

export interface RedisSnapshot {
  /** `cmdstat_<name>` calls, by command name (lowercase; subcommands as `script|load`). */
  readonly calls: ReadonlyMap<string, number>;
  /** INFO stats `total_commands_processed`: commands sent by clients and run inside scripts. */
  readonly totalCommands: number;
  /** used_cpu_user + used_cpu_sys, seconds. */
  readonly cpuSeconds: number;
  readonly usedMemory: number;
  readonly maxMemory: number;
  /** Changes when the server restarts. */
  readonly runId: string;
}

/** Parses `INFO commandstats stats cpu memory`. */
export function parseInfo(info: string): RedisSnapshot {
  const calls = new Map<string, number>();
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) calls.set(m[1]!, Number(m[2]));
    else {
      const i = line.indexOf(':');
      if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1));
    }
  }
  const num = (name: string) => Number(fields.get(name) ?? Number.NaN);
  return {
    calls,
    totalCommands: num('total_commands_processed'),
    cpuSeconds: num('used_cpu_user') + num('used_cpu_sys'),
    usedMemory: num('used_memory'),
    maxMemory: num('maxmemory'),
    runId: fields.get('run_id') ?? '',
  };
}

export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  return parseInfo((await redis.call('INFO', 'server', 'commandstats', 'stats', 'cpu', 'memory')) as string);
}

export interface RedisDelta {
  /** Calls of the commands named, summed: the implementation's top-level commands. */
  readonly topLevel: number;
  /** Every command Redis ran, including inside scripts, minus the snapshots' own INFO. */
  readonly all: number;
  readonly cpuUs: number;
}

/**
 * The counts are NaN when they cannot be trusted: a restart (new run_id) or a CONFIG RESETSTAT
 * by another client (counters went down) during the measurement.
 */
export function delta(before: RedisSnapshot, after: RedisSnapshot, topLevel: readonly string[]): RedisDelta {
  const restarted = before.runId !== after.runId;
  const reset = restarted || after.totalCommands < before.totalCommands || [...before.calls].some(([name, n]) => (after.calls.get(name) ?? 0) < n);
  const d = (name: string) => (after.calls.get(name) ?? 0) - (before.calls.get(name) ?? 0);
  return {
    topLevel: reset ? Number.NaN : topLevel.reduce((sum, name) => sum + d(name), 0),
    all: reset ? Number.NaN : after.totalCommands - before.totalCommands - d('info'),
    cpuUs: restarted ? Number.NaN : (after.cpuSeconds - before.cpuSeconds) * 1e6,
  };
}
