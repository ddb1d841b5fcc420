// Every store call answers within the store's timeout, or by the limiter call's deadline when that
// is sooner, whatever the client does (including while it reconnects). One timer sweeps the calls
// in flight while any is: a timer per call costs more than the rest of the call's own work.
import { RateLimitStoreError } from '../../errors';

export type Within = <T>(what: string, run: () => Promise<T>, deadline?: number) => Promise<T>;

// Redis error reply codes: a fixed word of the protocol, safe to show (the text after it is not)
const REPLY_CODE = /^(ERR|WRONGTYPE|NOPERM|NOAUTH|WRONGPASS|OOM|READONLY|CROSSSLOT|CLUSTERDOWN|TRYAGAIN|LOADING|BUSY|BUSYKEY|NOSCRIPT|MASTERDOWN|MISCONF|NOREPLICAS|EXECABORT|ASK)\b/;
const TIMED_OUT = /timed? ?out|timeout/i;
const NO_CONNECTION = /ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EPIPE|EHOSTUNREACH|ETIMEDOUT|connection|closed|socket|not writeable|max retries|disconnect/i;

/** Why a client call failed, in the store's words: never the client's own text (it stays the error's `cause`, for logs). */
function reason(error: unknown): string {
  const e = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  const code = REPLY_CODE.exec(message)?.[1];
  if (code) return `the server refused the command (${code})`;
  if (TIMED_OUT.test(name) || TIMED_OUT.test(message)) return "the client's own timeout ran out before the reply";
  if (NO_CONNECTION.test(`${name} ${String(e.code)} ${message}`)) return 'no connection to the server (it is down, unreachable, or the client is closed)';
  return 'the client reported an error (its text is in the logs)';
}

/**
 * A client's failure as the limiter reports it: a misconfigured connection keeps its named fix
 * (RedisConnectionError, which never holds a secret), a MOVED reply names its fix, anything else
 * says what happened in general words; the client's error is the `cause`.
 */
function storeError(what: string, error: unknown): RateLimitStoreError {
  // named by src/connection-errors.ts (by name: this module does not load node:tls for it)
  if (error instanceof Error && error.name === 'RedisConnectionError') return new RateLimitStoreError(`Redis ${what} failed: ${error.message}`, { cause: error });
  const message = error instanceof Error ? error.message : '';
  if (message.startsWith('MOVED ')) {
    return new RateLimitStoreError(
      `Redis ${what} failed: the server runs in cluster mode (ElastiCache Serverless always does) and the client is not a cluster client: set REDIS_CLUSTER=true (REDIS_URL naming the cluster's configuration endpoint) and restart the app`,
      { cause: error },
    );
  }
  return new RateLimitStoreError(`Redis ${what} failed: ${reason(error)}`, { cause: error });
}

/** A store call in flight; `reject` is dropped once it is settled. */
export interface Watched {
  /** performance.now() by which it fails. */
  deadline: number;
  readonly what: string;
  reject: ((error: Error) => void) | undefined;
}

/** Whether a watched call still waits with time left: only then may it be sent (again). */
export const waiting = (w: Watched): boolean => w.reject !== undefined && w.deadline > performance.now();

/** A client's failure, or a throw of the code that calls it, as the store reports it. */
export function asStoreError(what: string, error: unknown): RateLimitStoreError {
  return error instanceof RateLimitStoreError ? error : storeError(what, error);
}

export interface Deadlines {
  within: Within;
  /**
   * Watches a call whose sender settles it (a check, sent with the others of its tick: see
   * batches.ts), as `within` does, without a promise of its own: its deadline becomes the sooner
   * of `w.deadline` and the timeout. False when that has passed: `w` is then rejected and nothing
   * is to be sent.
   */
  watch(w: Watched): boolean;
  /** Settles a watched call: true when it was still waiting (answer it then), false once timed out. */
  done(w: Watched): boolean;
  /** Fails a watched call that is still waiting, with `error` as a store error. */
  fail(w: Watched, error: unknown): void;
  stop(): void;
}

export function deadlines(timeoutMs: number): Deadlines {
  // deadlines are performance.now(): a wall clock step must not cut a call short or stretch it.
  // Calls are appended and only marked when settled (an array push, where a Set would pay an add
  // and a delete per call); each sweep drops the settled ones.
  let watched: Watched[] = [];
  let pending = 0;
  const sweepMs = Math.min(50, Math.max(5, Math.floor(timeoutMs / 10)));
  let sweeper: NodeJS.Timeout | undefined;
  const timedOut = (what: string) => new RateLimitStoreError(`Redis did not answer ${what} in time (timeout ${timeoutMs} ms)`);
  /** Marks a call settled; returns its `reject` when it was not yet (undefined once timed out). */
  const settle = (w: Watched) => {
    const reject = w.reject;
    if (reject) {
      w.reject = undefined;
      pending--;
    }
    return reject;
  };
  const sweep = () => {
    const now = performance.now();
    const kept: Watched[] = [];
    for (const w of watched) {
      if (w.reject === undefined) continue;
      if (w.deadline > now) kept.push(w);
      else settle(w)!(timedOut(w.what));
    }
    watched = kept;
    if (pending === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  const watch = (w: Watched): boolean => {
    const now = performance.now();
    w.deadline = Math.min(now + timeoutMs, w.deadline);
    if (w.deadline <= now) {
      w.reject!(timedOut(w.what));
      w.reject = undefined;
      return false;
    }
    watched.push(w);
    pending++;
    if (!sweeper) {
      sweeper = setInterval(sweep, sweepMs);
      sweeper.unref();
    }
    return true;
  };

  const fail = (w: Watched, error: unknown) => settle(w)?.(asStoreError(w.what, error));

  /**
   * Runs a store call within `timeout`, or by `deadline` (performance.now()) when that is sooner,
   * give or take one sweep; fails as a RateLimitStoreError. Past its deadline, nothing is sent.
   */
  function within<T>(what: string, run: () => Promise<T>, deadline = Infinity): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const w: Watched = { deadline, what, reject };
      if (!watch(w)) return;
      try {
        run().then(
          (value) => {
            settle(w);
            resolve(value);
          },
          (error: unknown) => fail(w, error),
        );
      } catch (error) {
        fail(w, error);
      }
    });
  }

  return {
    within,
    watch,
    done: (w) => settle(w) !== undefined,
    fail,
    stop() {
      clearInterval(sweeper);
      sweeper = undefined;
    },
  };
}
