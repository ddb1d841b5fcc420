// Exact sliding-window log: each charge is an entry { seq, at, cost } that counts during
// [at, at + window). Mirrored by src/lua/include/sliding-log.lua (log_load, log_remaining, ...)
// on a Redis list: entries in time order, their costs summed in a header kept last with a cache
// of the oldest entries, a reserved entry carrying its reservation id so settle finds it.
import type { Algorithm } from './types';

export interface LogEntry {
  readonly seq: number;
  readonly at: number;
  cost: number;
}

export interface LogState {
  readonly kind: 'log';
  /** Sorted by `at`, then by member (as Redis orders equal scores). */
  entries: LogEntry[];
}

const member = (e: { seq: number; cost: number }) => (e.cost === 1 ? `${e.seq}` : `${e.seq}:${e.cost}`);

const used = (s: LogState) => s.entries.reduce((sum, e) => sum + e.cost, 0);

/** Inserts an entry in order (by time, then member), looking from the newest: charges come last. */
function insert(s: LogState, entry: LogEntry): void {
  const key = member(entry);
  let i = s.entries.length;
  while (i > 0) {
    const prev = s.entries[i - 1]!;
    if (prev.at < entry.at || (prev.at === entry.at && member(prev) < key)) break;
    i--;
  }
  s.entries.splice(i, 0, entry);
}

export const slidingLog: Algorithm<LogState> = {
  kind: 'log',
  // drops entries that have left the window ending at `now`
  load(s, limit, now) {
    if (!s) return { kind: 'log', entries: [] };
    const cutoff = now - limit.windowMs;
    const first = s.entries.findIndex((e) => e.at > cutoff);
    s.entries = first === -1 ? [] : s.entries.slice(first);
    return s;
  },
  remaining: (s, limit) => Math.max(0, limit.limit - used(s)),
  // the reference is the entry's id
  charge(s, _limit, now, cost, ids) {
    ids.entry += 1;
    insert(s, { seq: ids.entry, at: now, cost });
    return ids.entry;
  },
  /**
   * When capacity returns: the expiry of the entry that frees `need` units, walking from the
   * oldest. `need` is what must leave the window: `cost - free` for a call that did not fit,
   * else enough to raise `remaining` by one.
   */
  outcome(s, { limit, windowMs }, now, cost, fits) {
    const u = used(s);
    const remaining = Math.max(0, limit - u);
    if (fits && remaining >= limit) return { fits, remaining, resetAt: now };
    const need = fits ? u - (limit - remaining - 1) : u + cost - limit;
    let freed = 0;
    for (const e of s.entries) {
      freed += e.cost;
      if (freed >= need) return { fits, remaining, resetAt: e.at + windowMs };
    }
    return { fits, remaining, resetAt: now };
  },
  // the entry keeps its time and takes the new cost; 0 removes it. One that has left the window
  // stays as it is (nothing is trimmed here: see load in src/model.ts)
  adjust(s, limit, now, ref, _reserved, cost) {
    const i = s.entries.findIndex((e) => e.seq === ref);
    if (i === -1) return;
    const entry = s.entries[i]!;
    if (entry.at <= now - limit.windowMs) return;
    s.entries.splice(i, 1);
    if (cost > 0) insert(s, { seq: ref, at: entry.at, cost });
  },
};
