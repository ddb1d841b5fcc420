// What an identifier has used of each limit, past the limit too. A store answers `remaining`,
// which stops at 0, so a call settled above a limit (the work was done) would read as "limit
// used". Here the same store is asked with each limit widened to a size no usage reaches: the
// store's own algorithm then counts what is recorded, and `size - remaining` is it. One read-only
// peek, no state of its own, the same on every store (no script of its own to keep in step).
import { AlgorithmCode, type CompiledLimit } from '../plan';

/** The widest size a limit is read at: integer math stays exact below 2^53. */
const WIDEST = 2 ** 52;
/** A token bucket is widened by this factor, its window with it, so its refill rate stays the same. */
const BUCKET_FACTOR = 1024;

/**
 * A limit widened for reading: the same name, algorithm and window (the state it reads), a size
 * no recorded usage reaches. A sliding-window counter keeps limit x window within 2^52 (its math
 * is exact only there: the plans are validated so); a token bucket is widened with its window
 * (a power of two: the refill interval is the same number, bit for bit).
 */
export function widened(limit: CompiledLimit): CompiledLimit {
  if (limit.code === AlgorithmCode['sliding-window']) return { ...limit, limit: Math.max(limit.limit, Math.floor(WIDEST / limit.windowMs)) };
  if (limit.code === AlgorithmCode['token-bucket']) {
    let factor = BUCKET_FACTOR;
    while (factor > 1 && (limit.limit * factor > WIDEST || limit.windowMs * factor > WIDEST)) factor /= 2;
    return { ...limit, limit: limit.limit * factor, windowMs: limit.windowMs * factor };
  }
  return { ...limit, limit: WIDEST };
}

/** Recorded usage of each widened limit, from what the store left of it. */
export const usedOf = (limits: readonly CompiledLimit[], remaining: readonly number[]) => limits.map((l, i) => Math.max(0, l.limit - remaining[i]!));
