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
  inFlight: number;
  /** Distinct identifiers. */
  identifiers: number;
  /** Measured time per implementation, after the warm-up. */
  durationMs: number;
  warmupMs: number;
  seed: number;
}

export interface Measurement {
  checks: number;
  checksPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  allowedShare: number;
  errors: number;
}

/** A limiter call: resolves true when allowed. */
export type Call = (identifier: string) => Promise<boolean>;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function drive(call: Call, w: Workload, durationMs: number, ids: string[], record: boolean) {
  const random = prng(w.seed);
  const latencies: number[] = [];
  let checks = 0;
  let allowed = 0;
  let errors = 0;
  const deadline = performance.now() + durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const id = ids[Math.floor(random() * ids.length)]!;
      const t0 = performance.now();
      try {
        if (await call(id)) allowed++;
      } catch {
        errors++;
      }
      if (record) latencies.push(performance.now() - t0);
      checks++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: w.inFlight }, worker));
  const elapsed = performance.now() - started;
  const sorted = Float64Array.from(latencies).sort();
  return {
    checks,
    checksPerSecond: (checks / elapsed) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    allowedShare: checks ? allowed / checks : 0,
    errors,
  };
}

/** Warms up, then measures one implementation. */
export async function measure(call: Call, w: Workload): Promise<Measurement> {
  const ids = Array.from({ length: w.identifiers }, (_, i) => `creator-${i}`);
  await drive(call, w, w.warmupMs, ids, false);
  return drive(call, w, w.durationMs, ids, true);
}
