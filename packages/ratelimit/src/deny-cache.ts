// A call denied until a known time is denied again, without asking the store, until then: a
// client retrying in a loop costs no Redis call. Entries go when an admin acts on the identifier
// (any instance), when this instance resets or refunds it, and when their time is up.
// When anomaly rules count denials, the hits answered here reach the store every `flushEvery`
// hits (the next call goes to the store and carries them) or `flushAfterMs` after the first one
// (a timer reports them), and are reported, never dropped, when their entry goes.
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
  /** When the last one was (local ms): reported late, hits count at this time. */
  lastHitAt: number;
}

/** Hands hits answered locally to the store (anomaly detection); settles when they are counted. */
export type ReportHits = (plan: string, identifier: string, costs: readonly number[], hits: number, lastHitAt: number) => Promise<void>;

export interface DenyCacheOptions {
  maxEntries: number;
  /** Local time (the limiter's clock). */
  now: () => number;
  /** Reports hits; without it hits are only carried by the next call to the store. */
  report?: ReportHits | undefined;
  /** @default 50 */
  flushEvery?: number;
  /** @default 5000 */
  flushAfterMs?: number;
  /** How often the timer looks for hits due (ms). @default 1000 */
  tickMs?: number;
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
  /** Forgets an identifier, or everything (hits not yet reported are reported). */
  drop(identifier?: string): void;
  /** Reports every hit not yet reported and stops the timer. */
  close(): Promise<void>;
  readonly size: number;
}

export function createDenyCache(options: DenyCacheOptions): DenyCache {
  const { maxEntries, now, report } = options;
  const flushEvery = options.flushEvery ?? 50;
  const flushAfterMs = options.flushAfterMs ?? 5000;
  const byIdentifier = new Map<string, Map<string, Entry>>();
  // entries holding hits not yet reported, by "plan\0identifier"
  const pending = new Map<string, { plan: string; identifier: string; entry: Entry }>();
  const inFlight = new Set<Promise<void>>();
  let size = 0;
  let timer: NodeJS.Timeout | undefined;

  const send = (plan: string, identifier: string, entry: Entry) => {
    pending.delete(`${plan}\0${identifier}`);
    const hits = entry.hits;
    entry.hits = 0;
    if (hits === 0 || !report) return;
    const sent = report(plan, identifier, entry.costs, hits, entry.lastHitAt).catch(() => undefined);
    inFlight.add(sent);
    void sent.finally(() => inFlight.delete(sent));
  };
  const tick = () => {
    const t = now();
    for (const { plan, identifier, entry } of pending.values()) if (t - entry.firstHitAt >= flushAfterMs || entry.until <= t) send(plan, identifier, entry);
    if (pending.size === 0) stop();
  };
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const remove = (identifier: string) => {
    const plans = byIdentifier.get(identifier);
    if (!plans) return;
    for (const [plan, entry] of plans) send(plan, identifier, entry);
    size -= plans.size;
    byIdentifier.delete(identifier);
  };

  return {
    get(plan, identifier, costs, t, reporting) {
      const entry = byIdentifier.get(identifier)?.get(plan);
      if (!entry) return undefined;
      if (entry.until <= t) {
        send(plan, identifier, entry);
        byIdentifier.get(identifier)!.delete(plan);
        size--;
        return undefined;
      }
      if (costs.some((c, i) => c !== entry.costs[i])) return undefined;
      if (reporting && (entry.hits >= flushEvery || (entry.hits > 0 && t - entry.firstHitAt >= flushAfterMs))) return undefined;
      if (entry.hits === 0) {
        entry.firstHitAt = t;
        if (reporting && report) {
          pending.set(`${plan}\0${identifier}`, { plan, identifier, entry });
          if (!timer) {
            timer = setInterval(tick, options.tickMs ?? 1000);
            timer.unref();
          }
        }
      }
      entry.hits++;
      entry.lastHitAt = t;
      const shift = t - (entry.until - entry.result.retryAfterMs);
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
      pending.delete(`${plan}\0${identifier}`);
      const hits = entry.hits;
      entry.hits = 0;
      return hits;
    },
    set(plan, identifier, costs, result, t) {
      let plans = byIdentifier.get(identifier);
      if (plans) byIdentifier.delete(identifier); // re-insert: most recent last
      else plans = new Map();
      const old = plans.get(plan);
      if (old) send(plan, identifier, old);
      else size++;
      plans.set(plan, { until: t + result.retryAfterMs, costs, result, hits: 0, firstHitAt: 0, lastHitAt: 0 });
      byIdentifier.set(identifier, plans);
      while (size > maxEntries) remove(byIdentifier.keys().next().value!);
    },
    drop(identifier) {
      if (identifier === undefined) {
        for (const id of [...byIdentifier.keys()]) remove(id);
        size = 0;
      } else remove(identifier);
    },
    async close() {
      stop();
      for (const { plan, identifier, entry } of [...pending.values()]) send(plan, identifier, entry);
      await Promise.all(inFlight);
    },
    get size() {
      return size;
    },
  };
}
