// The compiled shape of plans and limits, as the pure core (model, algorithms, result) and the
// stores see it: types and constants only, no validation (that is src/policy.ts, with zod).

/**
 * How a limit counts.
 * - `sliding-log`: exact. Every charge is an entry that leaves the window exactly `window` after
 *   it was made. Memory grows with the limit (one list entry per call: 8 bytes on Redis).
 * - `sliding-window`: approximate, constant memory. Two fixed-window counters, the previous one
 *   weighted by how much of it still overlaps the sliding window.
 * - `token-bucket`: GCRA. Up to `limit` at once, refilling steadily so that a full bucket takes
 *   `window` to refill. Constant memory, smooth.
 * - `fixed-window`: a counter that resets at each window boundary (or each calendar month, UTC,
 *   with `window: 'month'`). Cheapest; allows up to 2x the limit across a boundary.
 */
export type Algorithm = 'sliding-log' | 'sliding-window' | 'token-bucket' | 'fixed-window';

/**
 * What a call gets when the store fails or does not answer in time:
 * - `'open'`: allowed (availability first; nothing is counted meanwhile);
 * - `'closed'`: denied (cost first; the feature is down meanwhile);
 * - `'fallback'`: an in-memory limiter in this process decides, with its own budget.
 */
export type FailureMode = 'open' | 'closed' | 'fallback';

export const REQUESTS = 'requests';

/** Numeric codes shared with the Lua scripts. */
export const AlgorithmCode = {
  'sliding-log': 1,
  'sliding-window': 2,
  'token-bucket': 3,
  'fixed-window': 4,
  /** fixed-window over calendar months (UTC) */
  month: 5,
} as const;
export type AlgorithmCode = (typeof AlgorithmCode)[keyof typeof AlgorithmCode];

/** A limit ready for the stores. */
export interface CompiledLimit {
  readonly name: string;
  readonly unit: string;
  readonly algorithm: Algorithm;
  readonly code: AlgorithmCode;
  readonly limit: number;
  /** Window length in ms; for calendar months, the longest month (31 days). */
  readonly windowMs: number;
  /** How long the limit's state can matter after its last write. */
  readonly ttlMs: number;
}

/** What the pure core needs of a plan: its name, limits and units. */
export interface PlanLimits {
  readonly name: string;
  readonly limits: readonly CompiledLimit[];
  /** Units this plan counts, `requests` first when present. */
  readonly units: readonly string[];
}
