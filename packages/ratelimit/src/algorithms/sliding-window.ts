// Sliding-window counter (approximate): fixed windows of `windowMs`; the previous window's count
// is weighted by the share of it the sliding window still covers. All math is in integers scaled
// by the window length, so it is exact and identical in Lua (src/lua/include/sliding-window.lua).
import { floorDiv } from './math';
import type { LimitOutcome } from './types';

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

export function emptyWindow(now: number, windowMs: number): WindowState {
  return { kind: 'window', index: Math.floor(now / windowMs), current: 0, previous: 0 };
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

export function remainingWindow(state: WindowState, limit: number, now: number, windowMs: number): number {
  return Math.max(0, floorDiv(limit * windowMs - usedScaled(state, now, windowMs), windowMs));
}

export function outcomeWindow(state: WindowState, limit: number, windowMs: number, now: number, cost: number, fits: boolean): LimitOutcome {
  const remaining = remainingWindow(state, limit, now, windowMs);
  if (fits && remaining >= limit) return { fits, remaining, resetAt: now };
  // earliest t with usedScaled(t) <= target * windowMs
  const target = fits ? limit - remaining - 1 : limit - cost;
  const start = state.index * windowMs;
  let resetAt: number;
  if (state.current <= target) {
    resetAt = state.previous === 0 ? now : start + windowMs - floorDiv((target - state.current) * windowMs, state.previous);
  } else {
    resetAt = start + 2 * windowMs - floorDiv(target * windowMs, state.current);
  }
  return { fits, remaining, resetAt: Math.max(resetAt, now) };
}

/** Settles a reserved charge made in window `index`. */
export function adjustWindow(state: WindowState, index: number, delta: number): void {
  if (index === state.index) state.current = Math.max(0, state.current + delta);
  else if (index === state.index - 1) state.previous = Math.max(0, state.previous + delta);
}
