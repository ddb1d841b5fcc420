// The pure model of one identifier's state: what check / peek / reserve / settle / reset do,
// with time as an input. The memory store runs it as is; the Redis scripts mirror it, and the
// model-based tests demand that both give the same answers.
import { ALGORITHMS, type LimitState } from './algorithms';
import type { Algorithm, LimitOutcome } from './algorithms/types';
import { type AnomalyState, emptyAnomalyState, type Fired, observe } from './anomaly/counting';
import type { CompiledRules } from './anomaly/rules';
import type { CompiledLimit } from './plan';
import { decidingOutcome } from './result';

export type { LimitOutcome } from './algorithms/types';

/** What a reservation charged to one limit, to be settled later. */
export interface ReservedPart {
  readonly name: string;
  /** log: the entry's seq; sliding window: window index; fixed window: window start; bucket: 0 */
  readonly ref: number;
  readonly cost: number;
}

export interface ReservationRecord {
  readonly expiresAt: number;
  readonly parts: readonly ReservedPart[];
}

export interface IdentifierState {
  /** Last reservation id. Survives reset, so a stale reservation can never settle a newer one. */
  seq: number;
  /** Last log entry id (the Lua scripts use the time plus a suffix instead). */
  entry: number;
  readonly limits: Map<string, LimitState>;
  readonly reservations: Map<string, ReservationRecord>;
  /** The last denials (newest last), for admins: when, and which limit denied. */
  denials: { readonly at: number; readonly limit: string }[];
  anomaly: AnomalyState;
}

/** How many recent denials an identifier keeps. */
export const DENIALS_KEPT = 10;

export type Mode = 'peek' | 'check' | 'reserve';

export interface EvaluateInput {
  readonly limits: readonly CompiledLimit[];
  /** One per limit: a whole number >= 0. */
  readonly costs: readonly number[];
  readonly mode: Mode;
  readonly now: number;
  readonly reservationTtlMs: number;
  /** Anomaly rules to count this call against; a peek counts only `pendingDenied` (deny-cache hits reported). */
  readonly anomaly?: {
    readonly rules: CompiledRules;
    /** This call's cost in the cost-spike unit. */
    readonly cost: number;
    /** Denials answered meanwhile from a deny cache. */
    readonly pendingDenied: number;
  };
}

export interface EvaluateOutput {
  readonly allowed: boolean;
  readonly now: number;
  readonly limits: readonly LimitOutcome[];
  /** Set when a reserve was allowed. */
  readonly reservation?: { readonly id: string; readonly expiresAt: number };
  /** Anomaly rules this call set off (once per episode). */
  readonly anomalies: readonly Fired[];
}

export interface SettleInput {
  readonly limits: readonly CompiledLimit[];
  readonly reservationId: string;
  /** The reservation's expiry as reserve() returned it: a record with another is another reservation. */
  readonly expiresAt: number;
  /** New cost by limit name; limits not named keep what was reserved. */
  readonly costs: ReadonlyMap<string, number>;
  readonly now: number;
}

/** `unknown`: never existed, already settled, reset, or expired and since cleared. */
export type SettleStatus = 'settled' | 'expired' | 'unknown';

export function emptyState(): IdentifierState {
  return { seq: 0, entry: 0, limits: new Map(), reservations: new Map(), denials: [], anomaly: emptyAnomalyState() };
}

/**
 * A limit's algorithm, and a copy of its state brought to `now` (created when absent). The copy
 * is kept (state.limits.set) only where the Redis store writes: a log trimmed by a check or a
 * reserve, allowed or not; a counter charged or settled. What a peek, or a limit left uncharged,
 * brought to `now` (expired entries, a rolled window) stays as it was, so a later call whose time
 * is older (callers' clocks apart) finds what Redis finds.
 */
function load(state: IdentifierState, limit: CompiledLimit, now: number): { algorithm: Algorithm<LimitState>; s: LimitState } {
  const algorithm = ALGORITHMS[limit.code];
  const existing = state.limits.get(limit.name);
  // the algorithms' load replaces fields (a log's entries with a new array), so a shallow copy holds
  const s = algorithm.load(existing?.kind === algorithm.kind ? { ...existing } : undefined, limit, now);
  return { algorithm, s };
}

/** Drops reservations whose time is up; their reserved cost stays charged. */
function pruneReservations(state: IdentifierState, now: number): void {
  for (const [id, r] of state.reservations) if (r.expiresAt <= now) state.reservations.delete(id);
}

/**
 * Checks every limit; when all have room and the mode charges, charges them all. A limit with
 * nothing left denies every call, even one that costs it 0 (which charges it nothing). Denied
 * calls change nothing.
 */
export function evaluate(state: IdentifierState, input: EvaluateInput): EvaluateOutput {
  const { limits, costs, mode, now } = input;
  const states = limits.map((limit) => load(state, limit, now));
  // a used-up limit denies every call, even one that costs it nothing
  const needs = costs.map((c) => Math.max(c, 1));
  const fits = states.map(({ algorithm, s }, i) => needs[i]! <= algorithm.remaining(s, limits[i]!, now));
  const allowed = fits.every(Boolean);
  let reservation: EvaluateOutput['reservation'];
  if (allowed && mode !== 'peek') {
    const parts: ReservedPart[] = [];
    states.forEach(({ algorithm, s }, i) => {
      const cost = costs[i]!;
      if (cost === 0) return;
      const ref = algorithm.charge(s, limits[i]!, now, cost, state);
      parts.push({ name: limits[i]!.name, ref, cost });
    });
    if (mode === 'reserve') {
      pruneReservations(state, now);
      state.seq += 1;
      const id = String(state.seq);
      const expiresAt = now + input.reservationTtlMs;
      state.reservations.set(id, { expiresAt, parts });
      reservation = { id, expiresAt };
    }
  }
  // a peek counts only the deny-cache hits it reports (see the deny cache's timer)
  const anomaly = input.anomaly && (mode === 'peek' ? { now, allowed: false, cost: 0, pendingDenied: input.anomaly.pendingDenied, calls: 0 } : { now, allowed, ...input.anomaly });
  const anomalies = input.anomaly ? observe(state.anomaly, input.anomaly.rules, anomaly!) : [];
  if (mode !== 'peek') {
    states.forEach(({ algorithm, s }, i) => {
      if (algorithm.kind === 'log' || (allowed && costs[i]! > 0)) state.limits.set(limits[i]!.name, s);
    });
  }
  const outcomes = states.map(({ algorithm, s }, i) => algorithm.outcome(s, limits[i]!, now, needs[i]!, fits[i]!));
  if (!allowed && mode !== 'peek') {
    const denier = decidingOutcome(outcomes, limits, now);
    state.denials = [...state.denials, { at: now, limit: limits[denier]!.name }].slice(-DENIALS_KEPT);
  }
  return { allowed, now, limits: outcomes, anomalies, ...(reservation && { reservation }) };
}

/** Replaces a reservation's costs with the real ones (0 refunds). More than reserved is charged even past the limit. */
export function settle(state: IdentifierState, input: SettleInput): SettleStatus {
  const { now } = input;
  const record = state.reservations.get(input.reservationId);
  if (record?.expiresAt !== input.expiresAt) return 'unknown';
  state.reservations.delete(input.reservationId);
  if (record.expiresAt <= now) return 'expired';
  for (const part of record.parts) {
    const limit = input.limits.find((l) => l.name === part.name);
    const cost = input.costs.get(part.name);
    if (!limit || cost === undefined) continue;
    const algorithm = ALGORITHMS[limit.code];
    if (algorithm.kind === 'log') {
      // a log is settled in place: Redis's settle trims nothing (see load)
      const s = state.limits.get(limit.name);
      if (s?.kind === 'log') algorithm.adjust(s, limit, now, part.ref, part.cost, cost);
      continue;
    }
    const { s } = load(state, limit, now);
    algorithm.adjust(s, limit, now, part.ref, part.cost, cost);
    state.limits.set(limit.name, s);
  }
  return 'settled';
}

/** Forgets the named limits' usage, or all usage and reservations when `names` is undefined. */
export function reset(state: IdentifierState, names?: readonly string[]): void {
  if (!names) {
    state.limits.clear();
    state.reservations.clear();
    state.denials = [];
    state.anomaly = emptyAnomalyState();
    return;
  }
  for (const name of names) state.limits.delete(name);
}

/** Outstanding reservations and recent denials, for admins. */
export function inspectState(state: IdentifierState, now: number) {
  return {
    denials: state.denials,
    reservations: [...state.reservations]
      .filter(([, r]) => r.expiresAt > now)
      .map(([id, r]) => ({ id, expiresAt: r.expiresAt, parts: r.parts.map((p) => ({ limit: p.name, cost: p.cost })) })),
  };
}
