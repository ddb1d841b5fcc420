// Typed errors. Every message says what was wrong and what to do about it.

/** What went wrong, for code that branches on it. */
export type RateLimiterErrorCode =
  | 'INVALID_CONFIG'
  | 'UNKNOWN_PLAN'
  | 'INVALID_IDENTIFIER'
  | 'INVALID_COST'
  | 'COST_OVER_LIMIT'
  | 'UNKNOWN_LIMIT'
  | 'INVALID_RESERVATION'
  | 'INVALID_ARGUMENT'
  | 'STORE_UNAVAILABLE'
  | 'WAIT_ABORTED';

/** Base class of every error this library throws on purpose. */
export class RateLimiterError extends Error {
  override name = 'RateLimiterError';
  constructor(
    readonly code: RateLimiterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The limiter's configuration (plans, limits, store options) is invalid. Thrown at creation. */
export class RateLimitConfigError extends RateLimiterError {
  override name = 'RateLimitConfigError';
  constructor(
    message: string,
    /** One line per problem found, each naming the path of the bad value. */
    readonly issues: readonly string[] = [message],
  ) {
    super('INVALID_CONFIG', message);
  }
}

/** A call's arguments are invalid (plan, identifier, cost). Nothing was read or written. */
export class RateLimitInputError extends RateLimiterError {
  override name = 'RateLimitInputError';
}

/** The store could not answer within its time bound, or failed. */
export class RateLimitStoreError extends RateLimiterError {
  override name = 'RateLimitStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

/**
 * How a configuration error shows a value it refuses: `NAME='value'` only when the value is short
 * and plain (at most 12 letters, digits, spaces, `.`, `_`, `-`, like `maybe` or `99999`), which no
 * AUTH token, API key or URL with credentials is; otherwise `NAME (a value of N characters, not
 * shown)`, since a value in the wrong variable may be a secret.
 */
export function shownValue(name: string, value: string): string {
  return /^[\w .-]{0,12}$/.test(value) ? `${name}='${value}'` : `${name} (a value of ${value.length} characters, not shown)`;
}
