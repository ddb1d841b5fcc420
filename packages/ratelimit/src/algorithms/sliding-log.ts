// Exact sliding-window log: each charge is an entry { seq, at, cost } that counts during
// [at, at + window). Mirrored by src/lua/include/sliding-log.lua on a Redis list (entries in time
// order, their costs summed in a header; a reserved entry carries its reservation id for `seq`).
import type { LimitOutcome } from './types';

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

export const member = (e: { seq: number; cost: number }) => (e.cost === 1 ? `${e.seq}` : `${e.seq}:${e.cost}`);

export function emptyLog(): LogState {
  return { kind: 'log', entries: [] };
}

/** Drops entries that have left the window ending at `now`. */
export function trimLog(state: LogState, now: number, windowMs: number): void {
  const cutoff = now - windowMs;
  const first = state.entries.findIndex((e) => e.at > cutoff);
  state.entries = first === -1 ? [] : state.entries.slice(first);
}

export function usedLog(state: LogState): number {
  return state.entries.reduce((sum, e) => sum + e.cost, 0);
}

export function chargeLog(state: LogState, now: number, seq: number, cost: number): void {
  const entry = { seq, at: now, cost };
  const key = member(entry);
  let i = state.entries.length;
  while (i > 0) {
    const prev = state.entries[i - 1]!;
    if (prev.at < now || (prev.at === now && member(prev) < key)) break;
    i--;
  }
  state.entries.splice(i, 0, entry);
}

/**
 * When capacity returns: the expiry of the entry that frees `need` units, walking from the oldest.
 * `need` is what must leave the window: `cost - free` for a call that did not fit, else enough to
 * raise `remaining` by one.
 */
export function outcomeLog(state: LogState, limit: number, windowMs: number, now: number, cost: number, fits: boolean): LimitOutcome {
  const used = usedLog(state);
  const remaining = Math.max(0, limit - used);
  if (fits && remaining >= limit) return { fits, remaining, resetAt: now };
  const need = fits ? used - (limit - remaining - 1) : used + cost - limit;
  let freed = 0;
  for (const e of state.entries) {
    freed += e.cost;
    if (freed >= need) return { fits, remaining, resetAt: e.at + windowMs };
  }
  return { fits, remaining, resetAt: now };
}

/** Settles a reserved entry to a new cost; 0 removes it. Entries already gone change nothing. */
export function adjustLog(state: LogState, seq: number, cost: number): void {
  const i = state.entries.findIndex((e) => e.seq === seq);
  if (i === -1) return;
  const entry = state.entries[i]!;
  state.entries.splice(i, 1);
  if (cost > 0) {
    const replacement = { seq, at: entry.at, cost };
    const key = member(replacement);
    let j = state.entries.findIndex((e) => e.at > entry.at || (e.at === entry.at && member(e) > key));
    if (j === -1) j = state.entries.length;
    state.entries.splice(j, 0, replacement);
  }
}
