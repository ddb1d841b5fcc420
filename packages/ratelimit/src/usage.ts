// Top consumers without scanning the keyspace, and without a write per call: each instance adds up
// what it charged per board (unit and hour or day) and identifier, and every few seconds sends the
// largest amounts of that window to the boards, which keep only their largest entries. Heavy
// consumers are counted in full; usage spread thin over many identifiers may be undercounted.
// Memory is bounded under any number of identifiers: past twice `tracked` identifiers of a unit in
// one window, only the `tracked` largest amounts stay (what a prune drops is usage spread that thin).
import type { UsageStore } from './stores/types';
import { DAY_MS as DAY, HOUR_MS as HOUR } from './time';


export type Period = 'hour' | 'day';

/** The board of a period and unit, at time `now` (epoch ms). */
export function boardName(period: Period, unit: string, now: number): string {
  return period === 'hour' ? `h:${Math.floor(now / HOUR)}:${unit}` : `d:${Math.floor(now / DAY)}:${unit}`;
}

export interface UsageOptions {
  flushMs: number;
  /** Entries of each board sent per flush: the largest of the window. */
  perFlush: number;
  /** Entries each board keeps: the largest. */
  boardSize: number;
  /**
   * Identifiers of a unit kept per window after a prune (a prune runs at twice as many): the
   * largest amounts. Default: 100 times `perFlush`, at least 10,000.
   */
  tracked?: number;
}

export interface UsageRecorder {
  add(identifier: string, amounts: ReadonlyMap<string, number>, now: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The `k` entries with the largest amounts, in no particular order (quickselect: linear on average). */
export function largest(entries: [string, number][], k: number): [string, number][] {
  if (entries.length <= k) return entries;
  let lo = 0;
  let hi = entries.length - 1;
  while (lo < hi) {
    const pivot = entries[(lo + hi) >> 1]![1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (entries[i]![1] > pivot) i++;
      while (entries[j]![1] < pivot) j--;
      if (i <= j) {
        [entries[i], entries[j]] = [entries[j]!, entries[i]!];
        i++;
        j--;
      }
    }
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else break;
  }
  return entries.slice(0, k);
}

export function createUsageRecorder(store: UsageStore, options: UsageOptions, onError: (error: unknown) => void): UsageRecorder {
  // what this instance charged per unit and identifier since the last flush, within one hour: the
  // hour's and the day's boards get the same amounts, so they are added up once
  interface Window {
    readonly hour: number;
    readonly amounts: Map<string, Map<string, number>>;
  }
  let current: Window | undefined;
  let closed: Window[] = [];
  const tracked = options.tracked ?? Math.max(10_000, 100 * options.perFlush);

  const flush = async () => {
    const windows = current ? [...closed, current] : closed;
    current = undefined;
    closed = [];
    const batch: { board: string; identifier: string; amount: number; ttlMs: number }[] = [];
    for (const { hour, amounts } of windows) {
      const day = Math.floor((hour * HOUR) / DAY);
      for (const [unit, byIdentifier] of amounts) {
        for (const [identifier, amount] of largest([...byIdentifier], options.perFlush)) {
          batch.push({ board: `h:${hour}:${unit}`, identifier, amount, ttlMs: 2 * HOUR }, { board: `d:${day}:${unit}`, identifier, amount, ttlMs: 2 * DAY });
        }
      }
    }
    if (batch.length > 0) await store.addUsage(batch, { maxEntries: options.boardSize }).catch(onError);
  };
  const timer = setInterval(() => void flush(), options.flushMs);
  timer.unref();
  return {
    add(identifier, amounts, now) {
      const hour = Math.floor(now / HOUR);
      if (current?.hour !== hour) {
        if (current) closed.push(current);
        current = { hour, amounts: new Map() };
      }
      for (const [unit, amount] of amounts) {
        if (amount === 0) continue;
        let byIdentifier = current.amounts.get(unit);
        if (!byIdentifier) current.amounts.set(unit, (byIdentifier = new Map<string, number>()));
        byIdentifier.set(identifier, (byIdentifier.get(identifier) ?? 0) + amount);
        // many identifiers in one window: keep the largest (linear, once per `tracked` new ones)
        if (byIdentifier.size > 2 * tracked) current.amounts.set(unit, new Map(largest([...byIdentifier], tracked)));
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
