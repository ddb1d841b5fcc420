// In-process store: the pure model behind a Map. Exact and fast, but per process: use it for
// tests, development and single-instance apps. Memory stays bounded: an identifier's state is
// dropped once nothing in it can matter any more (checked on access and by an unref'd sweep).
import { EventEmitter } from 'node:events';

import { anomalyRetentionMs, observeSettle } from '../anomaly/counting';
import { type Duration, toMs } from '../duration';
import { emptyState, evaluate, type IdentifierState, inspectState, reset, settle } from '../model';
import type { CompiledLimit } from '../plan';
import type { Control, ControlStore, DocumentStore, LimitingStore, StoreEvaluateRequest, StreamStore, UsageStore, StreamEntry, StreamName } from './types';

export interface MemoryStoreOptions {
  /**
   * How often expired identifiers are swept. The timer is `unref`'d: it never keeps a process alive.
   * @default '1 m'
   */
  sweepInterval?: Duration;
  /**
   * The least time an identifier's state is kept after a call that changed it, in the limiter's
   * clock. By default it is kept while something in it can still count for a later call: its
   * limits' windows, its reservations, its anomaly counters. Expiry follows the calls' times, so
   * a call whose clock runs behind one that came first, across the end of that, finds the limit
   * forgotten where Redis (whose TTLs run on its own clock) still has it; set this to the longest
   * window to rule that out, at the price of keeping every identifier that long.
   * @default 0
   */
  retention?: Duration;
}

// every concern: limiting, controls, usage boards, streams
export interface MemoryStore extends LimitingStore, ControlStore, UsageStore, StreamStore, DocumentStore {
  readonly kind: 'memory';
  /** Identifiers with state kept. */
  readonly size: number;
  /** Drops every identifier whose state can no longer matter at `now` (default: the store's estimate of now). */
  sweep(now?: number): void;
  /** Stops the sweep timer. */
  close(): Promise<void>;
}

interface Entry {
  state: IdentifierState;
  expiresAt: number;
}

/** Identifier histories (anomalies, audit) kept at most: the least recently written go first. */
export const MAX_HISTORIES = 10_000;

const longestTtl = (limits: readonly CompiledLimit[]) => limits.reduce((t, l) => Math.max(t, l.ttlMs), 0);

/**
 * How long after this call the identifier's state can still matter (0: the call changed nothing
 * to keep): the TTLs of the limits it charged, its anomaly counters'; and, as the Redis hash
 * keeps them, the state TTL for reservations (their ids are never reused) and denials (admins
 * see the last ones). An identifier that only checks within its limits is kept for its windows,
 * not for `reservationTtl`.
 */
function retentionMs(request: StoreEvaluateRequest, allowed: boolean, least: number): number {
  let keep = 0;
  if (request.mode !== 'peek') {
    keep = allowed && request.mode === 'check' ? longestTtl(request.limits.filter((_, i) => request.costs[i]! > 0)) : request.stateTtlMs;
  }
  if (request.anomaly) keep = Math.max(keep, anomalyRetentionMs(request.anomaly.rules, request.stateTtlMs));
  return keep > 0 ? Math.max(keep, least) : 0;
}

/** Creates an in-process store. */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const entries = new Map<string, Entry>();
  const controls = new Map<string, Control>();
  const documents = new Map<string, string>();
  const announcements = new EventEmitter();
  const boards = new Map<string, { expiresAt: number; amounts: Map<string, number> }>();
  const streams = new Map<string, { entries: StreamEntry[]; expiresAt: number }>();
  const streamKey = (stream: StreamName, identifier?: string) => (identifier === undefined ? stream : `${stream}\0${identifier}`);
  let streamSeq = 0;
  let histories = 0;
  // the latest `now` seen, with the real time it was seen: callers may run on a test clock
  let lastNow = Date.now();
  let seenAt = Date.now();
  const observe = (now: number | undefined) => {
    const t = now ?? Date.now();
    lastNow = t;
    seenAt = Date.now();
    return t;
  };

  const sweep = (now = lastNow + (Date.now() - seenAt)) => {
    for (const [id, entry] of entries) if (entry.expiresAt <= now) entries.delete(id);
    for (const [name, board] of boards) if (board.expiresAt <= Date.now()) boards.delete(name);
    for (const [name, stream] of streams) {
      if (stream.expiresAt > Date.now()) continue;
      streams.delete(name);
      if (name.includes('\0')) histories--;
    }
  };
  const least = options.retention === undefined ? 0 : toMs(options.retention, 'retention');
  const timer = setInterval(sweep, toMs(options.sweepInterval ?? '1 m', 'sweepInterval'));
  timer.unref();

  const live = (identifier: string, now: number) => {
    const entry = entries.get(identifier);
    if (entry && entry.expiresAt <= now) {
      entries.delete(identifier);
      return undefined;
    }
    return entry;
  };

  return {
    kind: 'memory',
    get size() {
      return entries.size;
    },
    sweep,
    evaluate(request) {
      const now = observe(request.now);
      const entry = live(request.identifier, now);
      const state = entry?.state ?? emptyState();
      const output = evaluate(state, { ...request, now });
      const keepMs = retentionMs(request, output.allowed, least);
      if (keepMs > 0) {
        if (entry) entry.expiresAt = Math.max(entry.expiresAt, now + keepMs);
        else entries.set(request.identifier, { state, expiresAt: now + keepMs });
      }
      return Promise.resolve(output);
    },
    settle(request) {
      const now = observe(request.now);
      const entry = live(request.identifier, now);
      if (!entry) return Promise.resolve({ status: 'unknown', now, anomalies: [] });
      const status = settle(entry.state, { ...request, now });
      if (status === 'settled') entry.expiresAt = Math.max(entry.expiresAt, now + Math.max(least, longestTtl(request.limits.filter((l) => request.costs.has(l.name)))));
      const anomalies = status === 'settled' ? observeSettle(entry.state.anomaly, request.anomaly, now) : [];
      return Promise.resolve({ status, now, anomalies });
    },
    reset(request) {
      const entry = entries.get(request.identifier);
      if (entry) reset(entry.state, request.all ? undefined : request.limits.map((l) => l.name));
      return Promise.resolve();
    },
    inspect(identifier, now) {
      const t = observe(now);
      const entry = live(identifier, t);
      return Promise.resolve({ now: t, ...inspectState(entry?.state ?? emptyState(), t) });
    },
    controls() {
      return Promise.resolve(new Map(controls));
    },
    control(identifier) {
      return Promise.resolve(controls.get(identifier));
    },
    setControl(identifier, control) {
      if (control) controls.set(identifier, control);
      else controls.delete(identifier);
      announcements.emit('change', identifier);
      return Promise.resolve();
    },
    announce(identifier) {
      announcements.emit('change', identifier);
      return Promise.resolve();
    },
    readDocument(name) {
      return Promise.resolve(documents.get(name));
    },
    writeDocument(name, json) {
      if (json === undefined) documents.delete(name);
      else documents.set(name, json);
      announcements.emit('change', name);
      return Promise.resolve();
    },
    listen(listener) {
      announcements.on('change', listener);
      return Promise.resolve(() => {
        announcements.off('change', listener);
        return Promise.resolve();
      });
    },
    addUsage(usage, { maxEntries }) {
      const touched = new Set<string>();
      for (const { board, identifier, amount, ttlMs } of usage) {
        let b = boards.get(board);
        if (!b) boards.set(board, (b = { expiresAt: 0, amounts: new Map() }));
        b.expiresAt = Math.max(b.expiresAt, Date.now() + ttlMs);
        b.amounts.set(identifier, (b.amounts.get(identifier) ?? 0) + amount);
        touched.add(board);
      }
      for (const board of touched) {
        const b = boards.get(board)!;
        if (b.amounts.size > maxEntries) b.amounts = new Map([...b.amounts].sort((x, y) => y[1] - x[1]).slice(0, maxEntries));
      }
      return Promise.resolve();
    },
    topUsage(board, count) {
      const b = boards.get(board);
      const all = b && b.expiresAt > Date.now() ? [...b.amounts].map(([identifier, amount]) => ({ identifier, amount })) : [];
      return Promise.resolve(all.sort((x, y) => y.amount - x.amount || (x.identifier < y.identifier ? 1 : -1)).slice(0, count));
    },
    append(stream, fields, { maxLength, identifier, ttlMs }) {
      const id = `${Date.now()}-${++streamSeq}`;
      const key = streamKey(stream, identifier);
      const entries = [...(streams.get(key)?.entries ?? []), { id, fields: { ...fields } }].slice(-maxLength);
      // re-inserted, so the least recently written identifier history goes first past the cap
      if (streams.delete(key) && identifier !== undefined) histories--;
      streams.set(key, { entries, expiresAt: ttlMs === undefined ? Infinity : Date.now() + ttlMs });
      if (identifier !== undefined && ++histories > MAX_HISTORIES) {
        for (const k of streams.keys()) {
          if (!k.includes('\0')) continue;
          streams.delete(k);
          histories--;
          break;
        }
      }
      return Promise.resolve(id);
    },
    read(stream, count, identifier) {
      const s = streams.get(streamKey(stream, identifier));
      return Promise.resolve(s && s.expiresAt > Date.now() ? s.entries.slice(-count).reverse() : []);
    },
    close() {
      clearInterval(timer);
      announcements.removeAllListeners();
      return Promise.resolve();
    },
  };
}
