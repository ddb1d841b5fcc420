// What the limiter tells the outside: events to `onEvent` (a listener that throws is ignored)
// and log lines, store failures at most one line per 10 s with a count of the others.
import { RateLimitStoreError } from '../errors';
import { jsonLogger, type Logger, type RateLimitEventListener, type StoreErrorEvent } from '../events';

const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

export interface Reporter {
  /** The logger, or undefined when silenced. */
  readonly logger: Logger | undefined;
  /** Whether anyone listens to events (decision events are built only then). */
  readonly listening: boolean;
  readonly emit: RateLimitEventListener;
  /** Reports a store failure (event, throttled log line) and returns it as a RateLimitStoreError. */
  storeError(operation: StoreErrorEvent['operation'], error: unknown, started: number): RateLimitStoreError;
}

export function createReporter(storeKind: string, onEvent: RateLimitEventListener | undefined, logger: Logger | false | undefined): Reporter {
  const log = logger === false ? undefined : (logger ?? jsonLogger);
  const emit: RateLimitEventListener = (event) => {
    try {
      onEvent?.(event);
    } catch {
      // a listener must not break rate limiting
    }
  };
  let lastErrorLog = 0;
  let suppressed = 0;
  return {
    logger: log,
    listening: onEvent !== undefined,
    emit,
    storeError(operation, error, started) {
      // a store's own errors say what failed in its words; anything else thrown (a custom store, a
      // client called outside the store's wrapping) keeps its text as the cause, for the log line
      // only: it may hold a client's text or a connection string (a RedisConnectionError never does)
      const wrapped =
        error instanceof RateLimitStoreError
          ? error
          : new RateLimitStoreError(
              `${storeKind} store ${operation} failed: ${error instanceof Error && error.name === 'RedisConnectionError' ? error.message : 'the store reported an error (its text is in the logs)'}`,
              { cause: error },
            );
      emit({ type: 'store-error', operation, error: wrapped, durationMs: performance.now() - started });
      if (Date.now() - lastErrorLog >= STORE_ERROR_LOG_INTERVAL_MS) {
        // the client's own text, for the operator only: the error's message never carries it
        const cause = wrapped.cause instanceof Error && wrapped.cause.message !== wrapped.message ? { cause: wrapped.cause.message.slice(0, 300) } : {};
        log?.error({ msg: 'rate limiter store call failed', store: storeKind, operation, error: wrapped.message, ...cause, suppressed });
        lastErrorLog = Date.now();
        suppressed = 0;
      } else suppressed++;
      return wrapped;
    },
  };
}
