// What Redis did during a measurement, from INFO deltas: top-level commands, every command it
// ran (including those inside scripts), CPU time, memory. One INFO call per snapshot.
import type { Redis } from 'ioredis';

// @airl/ops depends on this package, so the bench (dev only, never built or shipped) cannot
// depend on it back without a package cycle: it takes the one INFO parser by path
import { parseInfo } from '../../ops/src/doctor/info';

export interface RedisSnapshot {
  /** `cmdstat_<name>` calls, by command name (lowercase; subcommands as `script|load`). */
  readonly calls: ReadonlyMap<string, number>;
  /** INFO stats `total_commands_processed`: commands sent by clients and run inside scripts. */
  readonly totalCommands: number;
  /** INFO stats `total_reads_processed`: reads from client sockets (a pipeline can arrive in one). */
  readonly reads: number;
  /** used_cpu_user + used_cpu_sys, seconds. */
  readonly cpuSeconds: number;
  readonly usedMemory: number;
  readonly maxMemory: number;
  /** Changes when the server restarts. */
  readonly runId: string;
}

/** Reads `INFO server commandstats stats cpu memory` (fields parsed as the connection doctor does). */
export function parseSnapshot(info: string): RedisSnapshot {
  const fields = parseInfo(info);
  const calls = new Map<string, number>();
  for (const [name, value] of Object.entries(fields)) {
    const m = /^cmdstat_(.+)$/.exec(name);
    const n = m && /^calls=(\d+)/.exec(value);
    if (n) calls.set(m[1]!, Number(n[1]));
  }
  const num = (name: string) => Number(fields[name] ?? Number.NaN);
  return {
    calls,
    totalCommands: num('total_commands_processed'),
    reads: num('total_reads_processed'),
    cpuSeconds: num('used_cpu_user') + num('used_cpu_sys'),
    usedMemory: num('used_memory'),
    maxMemory: num('maxmemory'),
    runId: fields.run_id ?? '',
  };
}

export async function snapshot(redis: Redis): Promise<RedisSnapshot> {
  return parseSnapshot((await redis.call('INFO', 'server', 'commandstats', 'stats', 'cpu', 'memory')) as string);
}

/** A cluster's snapshot: every master's, summed (run ids joined, so a restart of any shows). */
export async function clusterSnapshot(masters: readonly Redis[]): Promise<RedisSnapshot> {
  const all = await Promise.all(masters.map(snapshot));
  const calls = new Map<string, number>();
  for (const s of all) for (const [name, n] of s.calls) calls.set(name, (calls.get(name) ?? 0) + n);
  const sum = (k: 'totalCommands' | 'reads' | 'cpuSeconds' | 'usedMemory' | 'maxMemory') => all.reduce((n, s) => n + s[k], 0);
  return {
    calls,
    totalCommands: sum('totalCommands'),
    reads: sum('reads'),
    cpuSeconds: sum('cpuSeconds'),
    usedMemory: sum('usedMemory'),
    maxMemory: sum('maxMemory'),
    runId: all.map((s) => s.runId).join(','),
  };
}

export interface RedisDelta {
  /** Calls of the commands named, summed: the implementation's top-level commands. */
  readonly topLevel: number;
  /** Every command Redis ran, including inside scripts, minus the snapshots' own INFO. */
  readonly all: number;
  /** Socket reads, minus one per snapshot INFO. */
  readonly reads: number;
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
    reads: reset ? Number.NaN : after.reads - before.reads - d('info'),
    cpuUs: restarted ? Number.NaN : (after.cpuSeconds - before.cpuSeconds) * 1e6,
  };
}
