// A call denied until a known time is denied again, without asking the store, until then: a
// client retrying in a loop costs no Redis call. Entries go when an admin acts on the identifier
// (any instance), when this instance resets or refunds it, and when their time is up.
import type { RateLimitResult } from './limiter';

interface Entry {
  /** Local epoch ms until which the call is denied. */
  readonly until: number;
  /** The per-limit costs that were denied: any call costing as much or more is denied too. */
  readonly costs: readonly number[];
  readonly result: RateLimitResult;
  /** Calls answered from this entry (anomaly detection counts them). */
  hits: number;
}

export interface DenyCache {
  /** A cached denial for this call, with its times brought to `now`; counts a hit. */
  get(plan: string, identifier: string, costs: readonly number[], now: number): RateLimitResult | undefined;
  set(plan: string, identifier: string, costs: readonly number[], result: RateLimitResult, now: number): void;
  /** Forgets an identifier, or everything. */
  drop(identifier?: string): void;
  readonly size: number;
}

export function createDenyCache(maxEntries: number): DenyCache {
  const byIdentifier = new Map<string, Map<string, Entry>>();
  let size = 0;

  const remove = (identifier: string) => {
    const plans = byIdentifier.get(identifier);
    if (!plans) return;
    size -= plans.size;
    byIdentifier.delete(identifier);
  };

  return {
    get(plan, identifier, costs, now) {
      const entry = byIdentifier.get(identifier)?.get(plan);
      if (!entry) return undefined;
      if (entry.until <= now) {
        byIdentifier.get(identifier)!.delete(plan);
        size--;
        return undefined;
      }
      if (costs.some((c, i) => c < entry.costs[i]!)) return undefined;
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
    set(plan, identifier, costs, result, now) {
      let plans = byIdentifier.get(identifier);
      if (plans) byIdentifier.delete(identifier); // re-insert: most recent last
      else plans = new Map();
      if (!plans.has(plan)) size++;
      plans.set(plan, { until: now + result.retryAfterMs, costs, result, hits: 0 });
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
