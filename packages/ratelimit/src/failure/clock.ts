// `clock: 'local'` corrected by the store's clock: the offset between this process's clock and
// the server's is measured (at the first call, then with every presence refresh) and added to
// Date.now(). If the local clock steps (NTP, a VM resumed) the offset no longer holds: it is
// dropped, and nothing is stamped until it is measured again.

/** A step of the wall clock against the monotonic one larger than this invalidates the offset. */
const MAX_STEP_MS = 1000;

export interface ClockSync {
  /** Corrected epoch ms, or undefined when no valid offset is known. */
  now(): number | undefined;
  /** The store's clock read `now` when this process's `Date.now()` read `at`. */
  update(sample: { now: number; at: number }): void;
}

export function createClockSync(): ClockSync {
  let offset: number | undefined;
  let wallAt = 0;
  let monoAt = 0;
  return {
    now() {
      if (offset === undefined) return undefined;
      const wall = Date.now();
      if (Math.abs(wall - wallAt - (performance.now() - monoAt)) > MAX_STEP_MS) {
        offset = undefined;
        return undefined;
      }
      return Math.floor(wall + offset);
    },
    update({ now, at }) {
      offset = now - at;
      wallAt = Date.now();
      monoAt = performance.now();
    },
  };
}
