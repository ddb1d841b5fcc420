// What a limiter reports about itself, for logs, metrics and alerting. Listeners must be quick
// and must not throw (a throwing listener is ignored).
import type { Anomaly } from './anomaly/records';
import type { RateLimiterError } from './errors';
import type { FailureMode } from './policy';

/**
 * Where an answer came from: the store (`'redis'`, `'memory'`, ...), `'deny-cache'` (a denial
 * remembered locally), `'control'` (an admin's block), or, while the store is unavailable, the
 * plan's policy: `'fail-open'`, `'fail-closed'`, `'fallback'`; `'store-slow'` when a call failed
 * on a store not known to be down (denied, to be retried).
 */
export type DecisionSource = string;

/** A call was decided. */
export interface DecisionEvent {
  readonly type: 'decision';
  readonly operation: 'check' | 'peek' | 'reserve';
  readonly identifier: string;
  readonly plan: string;
  readonly allowed: boolean;
  /** The limit that denied, `'blocked'` or `'store-unavailable'`; undefined when allowed. */
  readonly deniedBy: string | undefined;
  /** Time the limiter took, store included. */
  readonly durationMs: number;
  readonly source: DecisionSource;
}

/** The store failed or timed out. */
export interface StoreErrorEvent {
  readonly type: 'store-error';
  readonly operation: 'check' | 'peek' | 'reserve' | 'settle' | 'reset' | 'controls' | 'usage' | 'anomaly' | 'heartbeat';
  readonly error: RateLimiterError;
  readonly durationMs: number;
}

/**
 * A shard of the store became unavailable (`active: true`: its identifiers' calls are answered
 * by their plans' `whenStoreFails` policy) or available again (`active: false`).
 */
export interface FailureModeEvent {
  readonly type: 'failure-mode';
  readonly active: boolean;
  /** The limiter's default policy; plans may set their own. */
  readonly mode: FailureMode;
  /** Why, when it starts. */
  readonly reason: string | undefined;
  /** The shard (a cluster master's `host:port`); `''` for a store of one part. Always set by the limiter. */
  readonly shard?: string | undefined;
}

/** An anomaly rule fired (once per episode). */
export interface AnomalyEvent {
  readonly type: 'anomaly';
  readonly anomaly: Anomaly;
}

export type RateLimitEvent = DecisionEvent | StoreErrorEvent | FailureModeEvent | AnomalyEvent;

/** Receives every event of a limiter. */
export type RateLimitEventListener = (event: RateLimitEvent) => void;

/** Where structured log lines go. Each record is a flat object; `msg` says what happened. */
export interface Logger {
  warn(record: Readonly<Record<string, unknown>>): void;
  error(record: Readonly<Record<string, unknown>>): void;
}

/** JSON lines on stderr. */
export const jsonLogger: Logger = {
  warn: (record) => process.stderr.write(`${JSON.stringify({ level: 'warn', time: new Date().toISOString(), ...record })}\n`),
  error: (record) => process.stderr.write(`${JSON.stringify({ level: 'error', time: new Date().toISOString(), ...record })}\n`),
};
