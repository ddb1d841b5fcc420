// One deadline per call (performance.now() ms): every store call a limiter call makes shares it.

/**
 * Internal option of check, peek and reserve: a composed limiter's call (src/shared.ts) passes its
 * own deadline to the limiters it calls, so their store calls share it.
 */
export const callDeadline = Symbol('call deadline');

/** Waits for `promise`, but not past `deadline`; never rejects (what it waits for reports its own errors). */
export function within(promise: Promise<unknown>, deadline: number): Promise<void> {
  const ms = deadline - performance.now();
  if (ms <= 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise.then(() => undefined, () => undefined), expired]).finally(() => clearTimeout(timer));
}
