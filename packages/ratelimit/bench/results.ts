// The shape of a run's results (results/latest.json) and what is derived from them: medians of
// rounds, and the targets as ratios within the run.
import { median } from './harness';
import type { MemoryResult } from './memory';

/** One implementation in one round. */
export interface Round {
  readonly round: number;
  readonly checksPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly allowedShare: number;
  readonly errors: number;
  readonly firstError?: string | undefined;
  /** Top-level commands per check, from INFO commandstats (the implementation's commands). */
  readonly commandsPerCheck: number;
  /** Commands Redis ran per check, including inside scripts (INFO total_commands_processed). */
  readonly redisCallsPerCheck: number;
  /** Reads Redis made from client sockets per check (INFO total_reads_processed; absent before it was measured). */
  readonly redisReadsPerCheck?: number;
  /** Commands the implementation's client wrote per check (cross-check of the INFO figure). */
  readonly sentPerCheck: number;
  readonly nodeCpuUsPerCheck: number;
  readonly redisCpuUsPerCheck: number;
  /** 1-minute load average when the round started. */
  readonly load1: number;
}

export type Metric = Exclude<keyof Round, 'round' | 'firstError'>;

export interface Row {
  readonly id: string;
  readonly label: string;
  readonly kind: 'ours' | 'peer' | 'ceiling';
  readonly rounds: readonly Round[];
}

export interface Section {
  readonly name: string;
  readonly description: string;
  readonly inFlight: number;
  readonly identifiers: number;
  readonly limit: number;
  readonly windowMs: number;
  readonly seconds: number;
  readonly rows: readonly Row[];
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
}

export interface CurvePoint {
  readonly x: number;
  readonly rows: readonly Row[];
  /** Redis used_memory after the point, before cleanup. */
  readonly usedMemory: number;
  readonly note?: string;
}

export interface Curve {
  readonly name: string;
  readonly xLabel: string;
  /** The other dimension, fixed. */
  readonly fixed: string;
  readonly points: readonly CurvePoint[];
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGb: number;
  readonly os: string;
  readonly node: string;
  readonly redis: string;
  readonly zsetMaxListpackEntries: string;
  readonly redisUrl: string;
}

export interface Results {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly quick: boolean;
  readonly seed: number;
  readonly rounds: number;
  readonly machine: Machine;
  readonly loadStart: readonly number[];
  readonly loadEnd: readonly number[];
  readonly steady: Section | undefined;
  readonly hot: Section | undefined;
  readonly inFlight: Curve | undefined;
  readonly identifiers: Curve | undefined;
  /** The steady workload on a local 3-master Redis Cluster (absent in runs before it existed). */
  readonly cluster?: Section | undefined;
  readonly memory: readonly MemoryResult[];
  /** Top-consumer boards: bytes in all and per identifier, after `identifiers` made one call each. */
  readonly boards: { readonly bytes: number; readonly bytesPerIdentifier: number; readonly identifiers: number } | undefined;
  readonly anomalyState: string;
}

export function med(row: Row | undefined, metric: Metric): number {
  return row ? median(row.rounds.map((r) => r[metric] ?? Number.NaN)) : Number.NaN;
}

export const find = (section: { rows: readonly Row[] } | undefined, id: string) => section?.rows.find((r) => r.id === id);

export interface Target {
  readonly name: string;
  readonly goal: number;
  readonly actual: number;
  /**
   * For throughput ratios: the same ratio from CPU per check (Node + Redis) instead of checks/s,
   * what throughput tends to when the CPUs are the limit; steadier than checks/s on a loaded machine.
   */
  readonly byCpu?: number;
  /** 'ratio': actual >= goal; 'max': actual <= goal. */
  readonly kind: 'ratio' | 'max';
  readonly met: boolean | undefined;
}

function target(name: string, goal: number, actual: number, kind: Target['kind'] = 'ratio', byCpu?: number): Target {
  const met = Number.isFinite(actual) ? (kind === 'ratio' ? actual >= goal : actual <= goal) : undefined;
  return { name, goal, actual, kind, met, ...(byCpu !== undefined && { byCpu }) };
}

/** CPU per check (Node + Redis), median of rounds. */
function cpu(s: Section | undefined, id: string): number {
  const row = find(s, id);
  return row ? median(row.rounds.map((r) => r.nodeCpuUsPerCheck + r.redisCpuUsPerCheck)) : Number.NaN;
}

/**
 * A cliff as the curve grows: a row's throughput at the curve's last (largest) point over the
 * median of its other points. 1 means no change; a cliff shows as a small ratio.
 */
export function lastOverRest(curve: Curve | undefined, id: string): number {
  const values = (curve?.points ?? []).map((p) => med(find(p, id), 'checksPerSecond'));
  const last = values.at(-1);
  if (last === undefined || values.length < 2) return Number.NaN;
  return last / median(values.slice(0, -1));
}

export function targets(r: Results): Target[] {
  const rate = (s: Section | undefined, id: string) => med(find(s, id), 'checksPerSecond');
  const rlf = rate(r.steady, 'rlf');
  const log = r.memory.find((m) => m.id === 'ours-log');
  const byCpu = (s: Section | undefined, id: string, ref = 'rlf') => cpu(s, ref) / cpu(s, id);
  return [
    target('exact sliding log / rate-limiter-flexible', 1.0, rate(r.steady, 'ours-log') / rlf, 'ratio', byCpu(r.steady, 'ours-log')),
    target('exact sliding log / redis-benchmark ceiling (pipelined)', 0.9, rate(r.steady, 'ours-log') / rate(r.steady, 'ceiling-p16')),
    target('sliding-window counter / rate-limiter-flexible', 1.1, rate(r.steady, 'ours-window') / rlf, 'ratio', byCpu(r.steady, 'ours-window')),
    target(`three-limit plan (${r.anomalyState}) / rate-limiter-flexible`, 0.8, rate(r.steady, 'ours-plan3') / rlf, 'ratio', byCpu(r.steady, 'ours-plan3')),
    target(
      'anomaly counters on / off: three-limit plan (issue 5: within 10%)',
      0.9,
      rate(r.steady, 'ours-plan3') / rate(r.steady, 'ours-plan3-plain'),
      'ratio',
      byCpu(r.steady, 'ours-plan3', 'ours-plan3-plain'),
    ),
    target('hot, mostly denied: sliding log / rate-limiter-flexible', 4.0, rate(r.hot, 'ours-log') / rate(r.hot, 'rlf'), 'ratio', byCpu(r.hot, 'ours-log')),
    target('bytes per log entry while listpack', 30, log?.perEntryListpack ?? Number.NaN, 'max'),
    target(
      `no cliff to ${(r.identifiers?.points.at(-1)?.x ?? 0).toLocaleString('en')} identifiers: sliding log there / median of the smaller counts`,
      0.7,
      lastOverRest(r.identifiers, 'ours-log'),
    ),
  ];
}
