// Time and presence: the time a call is stamped with, and the heartbeat that marks this instance
// alive in the store (the 'shared' fallback splits limits between the live instances) and, for
// `clock: 'local'`, measures the offset to the store's clock.
import { randomUUID } from 'node:crypto';

import { RateLimitConfigError, RateLimitStoreError } from '../errors';
import { createClockSync } from '../failure/clock';
import { within } from '../failure/deadline';
import type { Store } from '../stores/types';
import type { Reporter } from './report';
import type { Clock } from './types';

export interface LocalClock {
  /** The configured clock's now, or undefined for the store's clock. */
  readonly now: () => number | undefined;
  /** The deny cache and controls run on this process's time, or the test's clock. */
  readonly localNow: () => number;
}

export function createLocalClock(clock: Clock): LocalClock {
  const now = (): number | undefined => {
    if (clock === 'store') return undefined;
    const t = clock === 'local' ? Date.now() : clock();
    if (!Number.isFinite(t)) throw new RateLimitConfigError(`clock returned ${t}; it must return epoch milliseconds`);
    return Math.floor(t);
  };
  return { now, localNow: () => now() ?? Date.now() };
}

/** Internal option and property: the presence a composed limiter borrows (src/shared.ts). */
export const outerPresence = Symbol('outer presence');

export interface PresenceOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly local: LocalClock;
  readonly refreshMs: number;
  readonly windowMs: number;
  readonly report: Reporter;
  /** Told the live instances' count at every heartbeat. */
  readonly onInstances: (instances: number) => void;
}

export interface Presence {
  /** Starts the heartbeats (from the first call on). */
  start(): void;
  /**
   * The time to stamp a call with: the configured clock; for `'local'`, corrected by the store's
   * clock, measured first (within the call's deadline) when not known. Throws rather than stamp
   * an unchecked local time. A promise only when it must measure first: every call asks for it.
   */
  stamp(deadline: number): Promise<number | undefined> | number | undefined;
  /** Stops the heartbeats and leaves the presence record, so the others' shares grow at once. */
  close(): Promise<void>;
  /** Also tells `listener` the live instances' count (at once when known); returns the way to stop. */
  listen(listener: (instances: number) => void): () => void;
}

/**
 * The presence of a limiter composed inside another (a shared budget's): it is the same
 * instance, so it beats under the outer one's id and shares its count; it never leaves.
 */
export function borrowPresence(outer: Presence, onInstances: (instances: number) => void): Presence {
  const stop = outer.listen(onInstances);
  return {
    start: () => outer.start(),
    stamp: (deadline) => outer.stamp(deadline),
    close: () => Promise.resolve(stop()),
    listen: (listener) => outer.listen(listener),
  };
}

export function createPresence({ store, clock, local, refreshMs, windowMs, report, onInstances }: PresenceOptions): Presence {
  const instanceId = randomUUID();
  const sync = clock === 'local' ? createClockSync() : undefined;
  // every instance counts itself, whatever its own budget: the others' shares depend on it
  const heartbeats = store.heartbeat?.bind(store);
  /** Set when the store refuses to tell its time: `'local'` then runs uncorrected. */
  let clockRefused = false;
  let closed = false;
  let beating: Promise<void> | undefined;
  let beatTimer: NodeJS.Timeout | undefined;
  const listeners = new Set<(instances: number) => void>([onInstances]);
  let lastInstances: number | undefined;

  function beat(): Promise<void> {
    const started = performance.now();
    return (beating ??= heartbeats!(instanceId, windowMs)
      .then(
        ({ instances, now: storeNow, at }) => {
          lastInstances = instances;
          for (const listener of listeners) listener(instances);
          sync?.update({ now: storeNow, at });
        },
        (error: unknown) => {
          if (/NOPERM|unknown command/i.test((error as Error).message)) clockRefused = true;
          report.storeError('heartbeat', error, started);
        },
      )
      .finally(() => (beating = undefined)));
  }

  /** The corrected time once the store's clock is measured, within `deadline`. */
  async function measured(deadline: number): Promise<number | undefined> {
    await within(beat(), deadline);
    const t = sync!.now();
    if (t === undefined && !clockRefused) throw new RateLimitStoreError(`${store.kind} store clock could not be read in time; not stamping with an unchecked local clock`);
    return t ?? local.now();
  }

  return {
    start() {
      if (!heartbeats || beatTimer || closed) return;
      beatTimer = setInterval(() => void beat(), refreshMs);
      beatTimer.unref();
      void beat();
    },
    stamp(deadline) {
      if (!sync || !heartbeats || clockRefused) return local.now();
      return sync.now() ?? measured(deadline);
    },
    async close() {
      closed = true;
      clearInterval(beatTimer);
      // best effort (the record expires anyway)
      if (beatTimer) await store.leave?.(instanceId).catch(() => undefined);
    },
    listen(listener) {
      listeners.add(listener);
      if (lastInstances !== undefined) listener(lastInstances);
      return () => listeners.delete(listener);
    },
  };
}
