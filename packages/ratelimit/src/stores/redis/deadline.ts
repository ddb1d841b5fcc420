// Every store call answers within the store's timeout, or by the limiter call's deadline when that
// is sooner, whatever the client does (including while it reconnects). One timer sweeps the calls
// in flight while any is: a timer per call costs more than the rest of the call's own work.
import { RateLimitStoreError } from '../../errors';

export type Within = <T>(what: string, run: () => Promise<T>, deadline?: number) => Promise<T>;

/** A client's failure as the limiter reports it; a MOVED reply names its fix. */
function storeError(what: string, error: unknown): RateLimitStoreError {
  const message = (error as Error).message;
  if (message.startsWith('MOVED ')) {
    return new RateLimitStoreError(
      `Redis ${what} failed: the server runs in cluster mode (ElastiCache Serverless always does) and the client is not a cluster client: set REDIS_CLUSTER=true (REDIS_URL naming the cluster's configuration endpoint) and restart the app`,
      { cause: error },
    );
  }
  return new RateLimitStoreError(`Redis ${what} failed: ${message}`, { cause: error });
}

export function deadlines(timeoutMs: number): { within: Within; stop(): void } {
  // deadlines are performance.now(): a wall clock step must not cut a call short or stretch it
  const inFlight = new Set<{ deadline: number; what: string; reject: (error: Error) => void }>();
  const sweepMs = Math.min(50, Math.max(5, Math.floor(timeoutMs / 10)));
  let sweeper: NodeJS.Timeout | undefined;
  const timedOut = (what: string) => new RateLimitStoreError(`Redis did not answer ${what} in time (timeout ${timeoutMs} ms)`);
  const sweep = () => {
    const now = performance.now();
    for (const c of inFlight) {
      if (c.deadline > now) continue;
      inFlight.delete(c);
      c.reject(timedOut(c.what));
    }
    if (inFlight.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  /**
   * Runs a store call within `timeout`, or by `deadline` (performance.now()) when that is sooner,
   * give or take one sweep; fails as a RateLimitStoreError. Past its deadline, nothing is sent.
   */
  function within<T>(what: string, run: () => Promise<T>, deadline = Infinity): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const watched = { deadline: Math.min(performance.now() + timeoutMs, deadline), what, reject };
      if (watched.deadline <= performance.now()) {
        reject(timedOut(what));
        return;
      }
      inFlight.add(watched);
      if (!sweeper) {
        sweeper = setInterval(sweep, sweepMs);
        sweeper.unref();
      }
      const failed = (error: unknown) => {
        inFlight.delete(watched);
        reject(error instanceof RateLimitStoreError ? error : storeError(what, error));
      };
      try {
        run().then((value) => {
          inFlight.delete(watched);
          resolve(value);
        }, failed);
      } catch (error) {
        failed(error);
      }
    });
  }

  return {
    within,
    stop() {
      clearInterval(sweeper);
      sweeper = undefined;
    },
  };
}
