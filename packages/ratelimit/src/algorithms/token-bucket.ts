// Token bucket as GCRA: a theoretical arrival time `tat`; each unit moves it by
// T = windowMs / limit, and a call fits while tat - now stays within windowMs. Floating point,
// with the same operations in the same order as src/lua/include/token-bucket.lua, so both agree
// to the bit; `remaining` is the one source of truth for whether a cost fits.
import type { LimitOutcome } from './types';

export interface BucketState {
  readonly kind: 'bucket';
  tat: number;
}

export function emptyBucket(now: number): BucketState {
  return { kind: 'bucket', tat: now };
}

export function remainingBucket(tat: number, limit: number, windowMs: number, t: number): number {
  if (tat <= t) return limit;
  const interval = windowMs / limit;
  return Math.min(limit, Math.max(0, Math.floor((t + windowMs - tat) / interval)));
}

export function chargeBucket(state: BucketState, limit: number, windowMs: number, now: number, cost: number): void {
  state.tat = Math.max(state.tat, now) + cost * (windowMs / limit);
}

export function outcomeBucket(state: BucketState, limit: number, windowMs: number, now: number, cost: number, fits: boolean): LimitOutcome {
  const remaining = remainingBucket(state.tat, limit, windowMs, now);
  if (fits && remaining >= limit) return { fits, remaining, resetAt: now };
  const want = fits ? remaining + 1 : cost;
  const interval = windowMs / limit;
  let t = Math.max(now, Math.ceil(state.tat - windowMs + want * interval));
  // the estimate may be off by a unit in the last place: settle on the exact first moment
  while (remainingBucket(state.tat, limit, windowMs, t) < want) t += 1;
  while (t > now && remainingBucket(state.tat, limit, windowMs, t - 1) >= want) t -= 1;
  return { fits, remaining, resetAt: t };
}

export function adjustBucket(state: BucketState, limit: number, windowMs: number, now: number, delta: number): void {
  const tat = Math.max(state.tat, now) + delta * (windowMs / limit);
  state.tat = delta < 0 ? Math.max(tat, now) : tat;
}
