// Sliding-window counter (approximate): fixed windows of `windowMs`; the previous window's count
// is weighted by the share of it the sliding window still covers. All math is in integers scaled
// by the window length, so it is exact and identical in Lua: src/lua/include/sliding-window.lua
// (window_load, window_remaining, ...).
import { floorDiv } from './math';
import type { Algorithm } from './types';

/** Two fixed-window counters: the current window's and the previous one's. */
export interface WindowCounts {
  /** floor(now / windowMs) of the current window */
  index: number;
  current: number;
  previous: number;
}

export interface WindowState extends WindowCounts {
  readonly kind: 'window';
}

/** Moves the counters to the window holding `now`. */
export function rollWindow(state: WindowCounts, now: number, windowMs: number): void {
  const index = Math.floor(now / windowMs);
  if (index === state.index) return;
  state.previous = index === state.index + 1 ? state.current : 0;
  state.current = 0;
  state.index = index;
}

/** Used units times windowMs: previous x (share still covered) + current. */
export function usedScaled(state: WindowCounts, now: number, windowMs: number): number {
  const elapsed = now - state.index * windowMs;
  return state.previous * (windowMs - elapsed) + state.current * windowMs;
}

const remaining = (s: WindowCounts, limit: number, windowMs: number, now: number) => Math.max(0, floorDiv(limit * windowMs - usedScaled(s, now, windowMs), windowMs));

export const slidingWindow: Algorithm<WindowState> = {
  kind: 'window',
  load(s, { windowMs }, now) {
    if (!s) return { kind: 'window', index: Math.floor(now / windowMs), current: 0, previous: 0 };
    rollWindow(s, now, windowMs);
    return s;
  },
  remaining: (s, { limit, windowMs }, now) => remaining(s, limit, windowMs, now),
  // the reference is the window's index
  charge(s, _limit, _now, cost) {
    s.current += cost;
    return s.index;
  },
  outcome(s, { limit, windowMs }, now, cost, fits) {
    const left = remaining(s, limit, windowMs, now);
    if (fits && left >= limit) return { fits, remaining: left, resetAt: now };
    // earliest t with usedScaled(t) <= target * windowMs
    const target = fits ? limit - left - 1 : limit - cost;
    const start = s.index * windowMs;
    let resetAt: number;
    if (s.current <= target) {
      resetAt = s.previous === 0 ? now : start + windowMs - floorDiv((target - s.current) * windowMs, s.previous);
    } else {
      resetAt = start + 2 * windowMs - floorDiv(target * windowMs, s.current);
    }
    return { fits, remaining: left, resetAt: Math.max(resetAt, now) };
  },
  // a charge in the current or the previous window; older ones have left
  adjust(s, _limit, _now, ref, reserved, cost) {
    const delta = cost - reserved;
    if (ref === s.index) s.current = Math.max(0, s.current + delta);
    else if (ref === s.index - 1) s.previous = Math.max(0, s.previous + delta);
  },
};
