// Top consumers without scanning the keyspace: each instance adds up what it charged per
// identifier and unit, and adds that to per-hour and per-day boards every few seconds.
import type { Store } from './stores/types';

const HOUR = 3_600_000;
const DAY = 86_400_000;

export type Period = 'hour' | 'day';

/** The board of a period and unit, at time `now` (epoch ms). */
export function boardName(period: Period, unit: string, now: number): string {
  return period === 'hour' ? `h:${Math.floor(now / HOUR)}:${unit}` : `d:${Math.floor(now / DAY)}:${unit}`;
}

export interface UsageRecorder {
  add(identifier: string, amounts: ReadonlyMap<string, number>, now: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createUsageRecorder(store: Store, flushMs: number, onError: (error: unknown) => void): UsageRecorder {
  let pending = new Map<string, { board: string; identifier: string; amount: number; ttlMs: number }>();
  const flush = async () => {
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending = new Map();
    await store.addUsage(batch).catch(onError);
  };
  const timer = setInterval(() => void flush(), flushMs);
  timer.unref();
  return {
    add(identifier, amounts, now) {
      for (const [unit, amount] of amounts) {
        if (amount === 0) continue;
        for (const [period, ttlMs] of [['hour', 2 * HOUR], ['day', 2 * DAY]] as const) {
          const board = boardName(period, unit, now);
          const key = `${board}\0${identifier}`;
          const entry = pending.get(key);
          if (entry) entry.amount += amount;
          else pending.set(key, { board, identifier, amount, ttlMs });
        }
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
