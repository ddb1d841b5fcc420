// What a limiter reports about itself, for logs, metrics and alerting. Listeners must be quick
// and must not throw (a throwing listener is ignored).
import type { RateLimiterError } from './errors';

/** A call was decided. */
export interface DecisionEvent {
  readonly type: 'decision';
  readonly operation: 'check' | 'peek' | 'reserve';
  readonly identifier: string;
  readonly plan: string;
  readonly allowed: boolean;
  /** The limit that denied, when denied. */
  readonly deniedBy: string | undefined;
  /** Time the limiter took, store included. */
  readonly durationMs: number;
  /** Which store decided: `'redis'`, `'memory'`, or `'fallback'` while Redis is unavailable. */
  readonly store: string;
}

/** The store failed or timed out. */
export interface StoreErrorEvent {
  readonly type: 'store-error';
  readonly operation: 'check' | 'peek' | 'reserve' | 'settle' | 'reset';
  readonly error: RateLimiterError;
  readonly durationMs: number;
}

export type RateLimitEvent = DecisionEvent | StoreErrorEvent;

/** Receives every event of a limiter. */
export type RateLimitEventListener = (event: RateLimitEvent) => void;
