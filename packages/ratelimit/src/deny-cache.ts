// A call denied until a known time is denied again, without asking the store, until then: a
// client retrying in a loop costs no Redis call. Entries go when an admin acts on the identifier
// (any instance), when this instance resets or refunds it, and when their time is up.
import type { RateLimitResult } from './result';

interface Entry {
  /** Local epoch ms until which the call is denied. */
  readonly until: number;
  /** The per-limit costs that were denied: the same call is denied until `until`. */
  readonly costs: readonly number[];
  readonly result: RateLimitResult;
  /** Calls answered from this entry since the store last saw one (anomaly detection counts them). */
  hits: number;
  /** When the first of those hits was answered (local ms). */
  firstHitAt: number;
}

export interface DenyCache {
  /**
   * A cached denial for this call, with its times brought to `now`; counts a hit. When
   * `reporting` (anomaly rules count denials), after `flushEvery` hits or once the first
   * unreported hit is `flushAfterMs` old it answers undefined once, so the store sees the call
   * and counts the hits close to when they happened.
   */
  get(plan: string, identifier: string, costs: readonly number[], now: number, reporting: boolean): RateLimitResult | undefined;
  /** Hits answered since the store last saw this identifier on this plan; resets them. */
  take(plan: string, identifier: string): number;
  set(plan: string, identifier: string, costs: readonly number[], result: RateLimitResult, now: number): void;
  /** Forgets an identifier, or everything. */
  drop(identifier?: string): void;
  readonly size: number;
}

export function createDenyCache(maxEntries: number, flushEvery = 50, flushAfterMs = 5000): DenyCache {
  const byIdentifier = new Map<string, Map<string, Entry>>();
  let size = 0;

  const remove = (identifier: string) => {
    const plans = byIdentifier.get(identifier);
    if (!plans) return;
    size -= plans.size;
    byIdentifier.delete(identifier);
  };

  return {
    get(plan, identifier, costs, now, reporting) {
      const entry = byIdentifier.get(identifier)?.get(plan);
      if (!entry) return undefined;
      if (entry.until <= now) {
        byIdentifier.get(identifier)!.delete(plan);
        size--;
        return undefined;
      }
      if (costs.some((c, i) => c !== entry.costs[i])) return undefined;
      if (reporting && (entry.hits >= flushEvery || (entry.hits > 0 && now - entry.firstHitAt >= flushAfterMs))) return undefined;
      if (entry.hits === 0) entry.firstHitAt = now;
      entry.hits++;
      const shift = now - (entry.until - entry.result.retryAfterMs);
      const wait = (ms: number) => Math.max(0, ms - shift);
      return {
        ...entry.result,
        retryAfterMs: wait(entry.result.retryAfterMs),
        now: entry.result.now + shift,
        limits: entry.result.limits.map((l) => ({ ...l, retryAfterMs: wait(l.retryAfterMs) })),
      };
    },
    take(plan, identifier) {
      const entry = byIdentifier.get(identifier)?.get(plan);
      if (!entry) return 0;
      const hits = entry.hits;
      entry.hits = 0;
      return hits;
    },
    set(plan, identifier, costs, result, now) {
      let plans = byIdentifier.get(identifier);
      if (plans) byIdentifier.delete(identifier); // re-insert: most recent last
      else plans = new Map();
      if (!plans.has(plan)) size++;
      plans.set(plan, { until: now + result.retryAfterMs, costs, result, hits: 0, firstHitAt: 0 });
      byIdentifier.set(identifier, plans);
      while (size > maxEntries) remove(byIdentifier.keys().next().value!);
    },
    drop(identifier) {
      if (identifier === undefined) {
        byIdentifier.clear();
        size = 0;
      } else remove(identifier);
    },
    get size() {
      return size;
    },
  };
}
