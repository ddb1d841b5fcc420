// Waiting instead of failing: a denied call whose retry time fits within its caller's deadline
// waits in line (per identifier and plan, in arrival order, in this process) and is tried again
// when the wait is over. Waiting calls hold a timer each (unref'd), no connection, no store call:
// only the head of a line asks the store, once per retry time.
import { type Duration, toMs } from './duration';
import { RateLimiterError, RateLimitInputError } from './errors';
import type { RateLimitResult } from './result';

/** What a call may add to `check` and `reserve` to wait for room instead of being denied. */
export interface WaitOptions {
  /**
   * The longest this call may wait for room, from when it is made: a denial whose retry time fits
   * within what is left of it waits (in arrival order behind other waiting calls of the same
   * identifier and plan, in this process) and is tried again; a denial beyond it is answered as
   * usual. Blocks and store failures are never waited for.
   * @default no wait: a denial is answered at once
   */
  wait?: Duration;
  /**
   * Cancels the wait: the call rejects with {@link RateLimitWaitAbortedError} and nothing is
   * charged. An abort that arrives while the store is deciding takes effect after its answer: an
   * admission made meanwhile stands (and is returned).
   */
  signal?: AbortSignal;
}

/** A waiting call was cancelled by its `signal` before it was admitted. Nothing was charged. */
export class RateLimitWaitAbortedError extends RateLimiterError {
  override name = 'RateLimitWaitAbortedError';
  constructor(
    /** The last denial the call waited on, if it was tried. */
    readonly lastResult: RateLimitResult | undefined,
  ) {
    super('WAIT_ABORTED', 'the call was cancelled while waiting for room; nothing was charged');
  }
}

/** Denials worth waiting for: a limit, not an admin's block nor a failing store. */
function waitable(result: RateLimitResult): boolean {
  return result.degraded === undefined && result.deniedBy !== 'blocked' && result.deniedBy !== 'store-unavailable';
}

interface Waiter<R> {
  readonly ticket: number;
  readonly deadline: number;
  readonly attempt: () => Promise<R>;
  readonly signal: AbortSignal | undefined;
  /** `performance.now()` before which asking again is pointless (the last retry time). */
  notBefore: number;
  last: R | undefined;
  resolve(value: R): void;
  reject(error: Error): void;
}

interface Line<R> {
  readonly waiters: Waiter<R>[];
}

/** A small margin past the retry time: the store's clock and this process's timers differ a little. */
const MARGIN_MS = 2;

function sleep(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<void> {
  const signal = AbortSignal.any(signals.filter((s) => s !== undefined));
  return new Promise((resolve, reject) => {
    const done = () => {
      signal?.removeEventListener('abort', abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    const abort = () => {
      clearTimeout(timer);
      reject(new RateLimitWaitAbortedError(undefined));
    };
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/** The lines of waiting calls of one limiter. */
export function createWaitLines() {
  const lines = new Map<string, Line<RateLimitResult>>();
  let tickets = 0;
  const closing = new AbortController();
  /** The heads being tried now: close() lets their store call finish. */
  const trying = new Set<Promise<unknown>>();

  /** Tries the head of a line until it is answered, then the next, until the line is empty. */
  async function pump(key: string, line: Line<RateLimitResult>) {
    while (line.waiters.length > 0) {
      // the earliest arrival first, even if it joined while another was being tried
      line.waiters.sort((a, b) => a.ticket - b.ticket);
      const head = line.waiters[0]!;
      const leave = () => line.waiters.splice(line.waiters.indexOf(head), 1);
      try {
        const ms = head.notBefore - performance.now();
        if (ms > 0) await sleep(ms, head.signal, closing.signal);
        if (head.signal?.aborted || closing.signal.aborted) throw new RateLimitWaitAbortedError(head.last);
      } catch {
        leave();
        head.reject(new RateLimitWaitAbortedError(head.last));
        continue;
      }
      let result: RateLimitResult;
      try {
        const attempt = head.attempt();
        trying.add(attempt);
        result = await attempt.finally(() => trying.delete(attempt));
      } catch (error) {
        leave();
        head.reject(error as Error);
        continue;
      }
      head.last = result;
      const retryAfter = result.retryAfterMs + MARGIN_MS;
      if (!result.allowed && (head.signal?.aborted || closing.signal.aborted)) {
        leave();
        head.reject(new RateLimitWaitAbortedError(result));
      } else if (result.allowed || !waitable(result) || performance.now() + retryAfter > head.deadline) {
        leave();
        head.resolve(result);
      } else head.notBefore = performance.now() + retryAfter;
    }
    lines.delete(key);
  }

  return {
    /**
     * Runs `attempt` (a check or a reserve) at once when no call of `key` is waiting; when it is
     * denied for less than what is left of `options.wait`, or others are already waiting, joins
     * the line and is tried again in turn.
     */
    async run<R extends RateLimitResult>(key: string, options: WaitOptions | undefined, attempt: () => Promise<R>): Promise<R> {
      if (options?.wait === undefined) return attempt();
      const started = performance.now();
      let waitMs: number;
      try {
        waitMs = toMs(options.wait, 'wait');
      } catch (error) {
        throw new RateLimitInputError('INVALID_ARGUMENT', (error as Error).message);
      }
      const signal = options.signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new RateLimitInputError('INVALID_ARGUMENT', 'signal must be an AbortSignal (for example AbortSignal.timeout(2000))');
      }
      if (signal?.aborted) throw new RateLimitWaitAbortedError(undefined);
      const ticket = ++tickets;
      const deadline = started + waitMs;
      let first: R | undefined;
      if (!lines.has(key)) {
        // nobody waits: the common case costs one call, as without `wait`
        first = await attempt();
        if (first.allowed || !waitable(first) || performance.now() + first.retryAfterMs + MARGIN_MS > deadline) return first;
        if (signal?.aborted) throw new RateLimitWaitAbortedError(first);
      }
      if (closing.signal.aborted) throw new RateLimitWaitAbortedError(first);
      let line = lines.get(key);
      const pumping = line !== undefined;
      if (!line) {
        line = { waiters: [] };
        lines.set(key, line);
      }
      const joined = line;
      const promise = new Promise<R>((resolve, reject) => {
        const waiter: Waiter<RateLimitResult> = {
          ticket,
          deadline,
          attempt,
          signal,
          // the first denial's retry time is known: no use asking before it
          notBefore: first ? performance.now() + first.retryAfterMs + MARGIN_MS : 0,
          last: first,
          resolve: resolve as (value: RateLimitResult) => void,
          reject,
        };
        joined.waiters.push(waiter);
        /** Takes a waiter behind the head out of the line; false when it is the head (the pump answers it). */
        const leave = () => {
          const at = joined.waiters.indexOf(waiter);
          if (at <= 0) return false;
          joined.waiters.splice(at, 1);
          clearTimeout(expiry);
          return true;
        };
        // a waiter behind the head leaves the line at once when aborted (the head's sleep ends)
        const abort = () => leave() && reject(new RateLimitWaitAbortedError(waiter.last));
        signal?.addEventListener('abort', abort, { once: true });
        // its deadline passed behind others: answered as without waiting, by its last denial or one more try
        const expiry = setTimeout(() => {
          if (!leave()) return;
          signal?.removeEventListener('abort', abort);
          if (waiter.last) resolve(waiter.last as R);
          else attempt().then(resolve, reject);
        }, Math.max(0, deadline - performance.now()));
        expiry.unref();
        waiter.resolve = (value) => {
          clearTimeout(expiry);
          signal?.removeEventListener('abort', abort);
          resolve(value as R);
        };
        waiter.reject = (error) => {
          clearTimeout(expiry);
          signal?.removeEventListener('abort', abort);
          reject(error);
        };
      });
      if (!pumping) void pump(key, joined);
      return promise;
    },
    /**
     * Ends every wait: waiting calls reject with {@link RateLimitWaitAbortedError} (nothing charged)
     * and their timers stop; a call being tried now gets its store's answer. Resolves when those
     * tries are over.
     */
    async close(): Promise<void> {
      closing.abort();
      for (const line of lines.values()) {
        // the head is answered by its pump (its sleep ends now, or its try finishes)
        for (const waiter of line.waiters.slice(1)) waiter.reject(new RateLimitWaitAbortedError(waiter.last));
        line.waiters.splice(1);
      }
      await Promise.allSettled([...trying]);
    },
    /** Calls waiting now, for tests and diagnostics. */
    waiting(): number {
      let n = 0;
      for (const line of lines.values()) n += line.waiters.length;
      return n;
    },
  };
}
