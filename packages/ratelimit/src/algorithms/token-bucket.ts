// Token bucket as GCRA: a theoretical arrival time `tat`; each unit moves it by
// T = windowMs / limit, and a call fits while tat - now stays within windowMs. Floating point,
// with the same operations in the same order as src/lua/include/token-bucket.lua (bucket_load,
// bucket_remaining, ...), so both agree to the bit; `remaining` is the one source of truth for
// whether a cost fits.
import type { Algorithm } from './types';

export interface BucketState {
  readonly kind: 'bucket';
  tat: number;
}

function remaining(tat: number, limit: number, windowMs: number, t: number): number {
  if (tat <= t) return limit;
  const interval = windowMs / limit;
  return Math.min(limit, Math.max(0, Math.floor((t + windowMs - tat) / interval)));
}

export const tokenBucket: Algorithm<BucketState> = {
  kind: 'bucket',
  // nothing to bring up to date: `tat` means the same at any time
  load: (s, _limit, now) => s ?? { kind: 'bucket', tat: now },
  remaining: (s, { limit, windowMs }, now) => remaining(s.tat, limit, windowMs, now),
  // nothing to refer to: a settle moves `tat` by the difference
  charge(s, { limit, windowMs }, now, cost) {
    s.tat = Math.max(s.tat, now) + cost * (windowMs / limit);
    return 0;
  },
  outcome(s, { limit, windowMs }, now, cost, fits) {
    const left = remaining(s.tat, limit, windowMs, now);
    if (fits && left >= limit) return { fits, remaining: left, resetAt: now };
    const want = fits ? left + 1 : cost;
    const interval = windowMs / limit;
    let t = Math.max(now, Math.ceil(s.tat - windowMs + want * interval));
    // the estimate may be off by a unit in the last place: settle on the exact first moment
    while (remaining(s.tat, limit, windowMs, t) < want) t += 1;
    while (t > now && remaining(s.tat, limit, windowMs, t - 1) >= want) t -= 1;
    return { fits, remaining: left, resetAt: t };
  },
  adjust(s, { limit, windowMs }, now, _ref, reserved, cost) {
    const delta = cost - reserved;
    const tat = Math.max(s.tat, now) + delta * (windowMs / limit);
    s.tat = delta < 0 ? Math.max(tat, now) : tat;
  },
};
