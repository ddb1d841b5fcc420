// How both apps write waits, counts and "all back" moments, so a creator and an admin looking at
// the same limit read the same thing.

/** A wait as a clock, seconds rounded up: `1:05:09`, `4:02`, `0:07`. Both apps show waits this way. */
export function formatCountdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A count with thousands separators: `20,000`. */
export const formatCount = (n: number): string => n.toLocaleString('en-US');

/**
 * When a sliding-window counter is surely back to its full size (epoch ms, the clock of `now`),
 * or null for other algorithms or when nothing is used. Usage counts in the fixed window it fell
 * in and fades out over the next one, so all of it is gone two windows after the current one
 * began (one window after, when all of it fell in the previous one: this is the bound). Unlike
 * the engine's `resetAt` (when the next unit returns), it does not move with every call.
 */
export function fullBy(limit: { readonly algorithm: string; readonly windowMs: number }, used: number, now: number): number | null {
  if (used === 0 || limit.algorithm !== 'sliding-window') return null;
  return (Math.floor(now / limit.windowMs) + 2) * limit.windowMs;
}

/** What {@link pollWhileVisible} needs of the page: the browser's `document` (this package has no DOM types). */
export interface VisiblePage {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

/**
 * Calls `refresh` every `ms` while `page` is visible, and at once when it becomes visible again
 * (both apps' live views: short polling works on every store and behind any proxy). Returns the
 * function that stops it, for a React effect's clean-up.
 */
export function pollWhileVisible(page: VisiblePage, refresh: () => void, ms: number): () => void {
  const timer = setInterval(() => {
    if (page.visibilityState === 'visible') refresh();
  }, ms);
  const onVisible = () => {
    if (page.visibilityState === 'visible') refresh();
  };
  page.addEventListener('visibilitychange', onVisible);
  return () => {
    clearInterval(timer);
    page.removeEventListener('visibilitychange', onVisible);
  };
}
