// A closed-loop load generator: `inFlight` workers, each awaiting one call at a time, over
// identifiers drawn by a seeded PRNG, so every implementation sees the same sequence.

/** mulberry32: small, fast, seeded. */
export function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Workload {
  /** Calls awaited concurrently. */
  readonly inFlight: number;
  /** Distinct identifiers, drawn uniformly. */
  readonly identifiers: number;
  /** Measured time, after the warm-up. */
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly seed: number;
}

/** A limiter call: resolves true when allowed. */
export type Check = (identifier: string) => Promise<boolean>;

export interface Sample {
  readonly checks: number;
  readonly elapsedMs: number;
  readonly checksPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Share of calls allowed, 0 to 1. */
  readonly allowedShare: number;
  readonly errors: number;
  /** This process's CPU time (user + system) over the measured time, µs. */
  readonly nodeCpuUs: number;
  /** The first error seen, to say what broke. */
  readonly firstError: string | undefined;
}

const cache = new Map<number, string[]>();
/**
 * Identifiers `000000000000` to `n - 1`, twelve digits like redis-benchmark's `__rand_int__`, so
 * Node implementations and the redis-benchmark ceiling write keys of the same length.
 */
export function identifiers(n: number): string[] {
  let ids = cache.get(n);
  if (!ids) {
    ids = Array.from({ length: n }, (_, i) => String(i).padStart(12, '0'));
    cache.clear(); // one size at a time: a million strings is enough to hold
    cache.set(n, ids);
  }
  return ids;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Runs `check` for `durationMs` with `inFlight` workers; records latencies when `record`. */
export async function drive(check: Check, w: Workload, durationMs: number, seed: number, record = true): Promise<Sample> {
  const ids = identifiers(w.identifiers);
  const random = prng(seed);
  let latencies = new Float64Array(1 << 16);
  let checks = 0;
  let allowed = 0;
  let errors = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const id = ids[Math.floor(random() * ids.length)]!;
      const t0 = performance.now();
      try {
        if (await check(id)) allowed++;
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
      if (record) {
        if (checks === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        latencies[checks] = performance.now() - t0;
      }
      checks++;
    }
  };
  await Promise.all(Array.from({ length: w.inFlight }, worker));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpu0);
  const sorted = record ? latencies.subarray(0, checks).sort() : new Float64Array(0);
  return {
    checks,
    elapsedMs,
    checksPerSecond: (checks / elapsedMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    allowedShare: checks ? allowed / checks : 0,
    errors,
    nodeCpuUs: cpu.user + cpu.system,
    firstError,
  };
}

/** Warms up (same workload, another seed), then measures. */
export async function measure(check: Check, w: Workload): Promise<Sample> {
  if (w.warmupMs > 0) await drive(check, w, w.warmupMs, w.seed + 1_000_003, false);
  return drive(check, w, w.durationMs, w.seed);
}

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}
