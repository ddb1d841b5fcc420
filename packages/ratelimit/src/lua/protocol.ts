// The wire protocol of the Lua scripts (src/lua/*.lua, whose headers it must match): for each
// script, how its keys and arguments are laid out (encode*) and how its reply reads (decode*),
// with the codes both sides share. src/stores/redis/ only sends what these build.
import { createHash } from 'node:crypto';

import type { Fired } from '../anomaly/counting';
import type { AnomalyRule } from '../anomaly/rules';
import { parseFired, rulesArg, settleAnomalyArgs } from '../anomaly/wire';
import type { EvaluateOutput, SettleStatus } from '../model';
import { AlgorithmCode, type CompiledLimit } from '../policy';
import type { StoreEvaluateRequest, StoreInspection, StoreResetRequest, StoreSettleRequest } from '../stores/types';

/** The arguments of one FCALL / EVALSHA after the function: numkeys, keys, then ARGV. */
export type ScriptArgs = (string | number)[];

/** The keys of one identifier the scripts use. */
export interface IdentifierKeys {
  readonly state: string;
  readonly reservations: string;
  readonly denials: string;
  log(limit: string): string;
}

/** A plan as check.lua knows it: its id, and "<id>:<definition>" for when the library does not. */
export interface PlanArg {
  readonly id: string;
  readonly full: string;
}

const LOG = AlgorithmCode['sliding-log'];

// definitions by limits (compiled once per plan), then by TTLs and rules
const planArgs = new WeakMap<readonly CompiledLimit[], Map<string, PlanArg>>();

// the last plan argument asked for: checks in a row are mostly of one plan
let last: { limits: readonly CompiledLimit[]; stateTtlMs: number; reservationTtlMs: number; rules: string; arg: PlanArg } | undefined;

/** The plan argument of a check (see learn_plan in src/lua/include/plan.lua). */
export function planArg(limits: readonly CompiledLimit[], stateTtlMs: number, reservationTtlMs: number, rules: string): PlanArg {
  if (last?.limits === limits && last.stateTtlMs === stateTtlMs && last.reservationTtlMs === reservationTtlMs && last.rules === rules) return last.arg;
  let byRest = planArgs.get(limits);
  if (!byRest) planArgs.set(limits, (byRest = new Map<string, PlanArg>()));
  const rest = `${stateTtlMs}:${reservationTtlMs}:${rules}:`;
  let arg = byRest.get(rest);
  if (!arg) {
    const definition = `${rest}${limits.map((l) => `${l.name},${l.code},${l.limit},${l.windowMs}`).join(';')}`;
    const id = createHash('sha1').update(definition).digest('base64url').slice(0, 16);
    arg = { id, full: `${id}:${definition}` };
    byRest.set(rest, arg);
  }
  last = { limits, stateTtlMs, reservationTtlMs, rules, arg };
  return arg;
}

/** One check as check.lua reads it: its keys, its arguments (the plan's id at PLAN_AT). */
export interface CheckCall {
  readonly keys: string[];
  /** now (timeArg), mode, plan id, [cost-spike cost, pending denials: with anomaly rules], one cost per limit. */
  readonly args: (string | number)[];
  readonly plan: PlanArg;
  /** How many limits: the length of its reply. */
  readonly limits: number;
  /** 0 peek, 1 check, 2 reserve (at MODE_AT in args). */
  readonly mode: 0 | 1 | 2;
  /** Its reply has no status (one limit, no anomaly rules, not a reserve: see check.lua). */
  readonly bare: boolean;
  /** The time it carries; undefined: the server's clock. */
  readonly now: number | undefined;
}

/**
 * A time as check.lua reads it: hexadecimal (Lua's tonumber(s, 16) is strtoul, half the work of
 * the strtod that decimal text costs), or '=' and decimal for any other (before 1970, or not a
 * whole number), or '' for the server's clock.
 */
export function timeArg(now: number | undefined): string {
  if (now === undefined) return '';
  return Number.isSafeInteger(now) && now >= 0 ? now.toString(16) : `=${now}`;
}

/** Where a check's arguments hold its mode and its plan (see check.lua). */
const MODE_AT = 1;
const PLAN_AT = 2;

export function encodeCheck(request: StoreEvaluateRequest, k: IdentifierKeys): CheckCall {
  const mode = request.mode === 'peek' ? 0 : request.mode === 'check' ? 1 : 2;
  const rules = request.anomaly ? rulesArg(request.anomaly.rules) : '';
  const plan = planArg(request.limits, request.stateTtlMs, request.reservationTtlMs, rules);
  const keys: string[] = [];
  // the state hash only when the script uses it (see check.lua)
  if (mode === 2 || rules !== '' || request.limits.some((l) => l.code !== LOG)) keys.push(k.state);
  const args: (string | number)[] = [timeArg(request.now), mode, plan.id];
  if (rules !== '') args.push(request.anomaly?.cost ?? 0, request.anomaly?.pendingDenied ?? 0);
  request.limits.forEach((l, i) => {
    if (l.code === LOG) keys.push(k.log(l.name));
    args.push(request.costs[i]!);
  });
  if (mode === 2) keys.push(k.reservations);
  return { keys, args, plan, limits: request.limits.length, mode, bare: request.limits.length === 1 && rules === '' && mode !== 2, now: request.now };
}

const RULES: Record<number, AnomalyRule> = { 1: 'burst', 2: 'denial-storm', 3: 'cost-spike' };
// shared by every output that fired none (read only)
const NO_ANOMALIES: readonly Fired[] = Object.freeze([]);

/**
 * Decodes the check replies of one call (one flat list, see check.lua) for `checks`, sent in
 * groups of `groups` checks (see encodeChecks), in order, into `outputs`; returns how many checks
 * ran (the rest: plan unknown).
 */
export function decodeChecks(reply: unknown, checks: readonly { readonly call: Pick<CheckCall, 'limits' | 'bare' | 'now'> }[], groups: readonly number[], outputs: EvaluateOutput[]): number {
  const r = (Array.isArray(reply) ? reply : []) as number[];
  let i = 0;
  let n = 0;
  for (const size of groups) {
    if (i >= r.length) break;
    // the group's time: its own, or the server's (first in its reply)
    const sent = checks[n]!.call.now;
    const now = sent ?? r[i++]!;
    for (const end = n + size; n < end; n++) {
      // a bare reply is its one limit's: allowed when it fits
      const status = checks[n]!.call.bare ? (r[i]! >= 0 ? 1 : 0) : r[i++]!;
      let reservation: EvaluateOutput['reservation'];
      let anomalies: readonly Fired[] = NO_ANOMALIES;
      if (status >= 2) {
        if (r[i]) reservation = { id: String(r[i]), expiresAt: r[i + 1]! };
        const fired = r[i + 2]!;
        i += 3;
        if (fired > 0) {
          const list: Fired[] = [];
          for (let f = 0; f < fired; f++, i += 3) list.push({ rule: RULES[r[i]!]!, value: r[i + 1]!, threshold: r[i + 2]! });
          anomalies = list;
        }
      }
      const outcomes: EvaluateOutput['limits'][number][] = [];
      for (let l = checks[n]!.call.limits; l > 0; l--, i += 2) {
        const remaining = r[i]!;
        outcomes.push(remaining >= 0 ? { fits: true, remaining, resetAt: r[i + 1]! } : { fits: false, remaining: -1 - remaining, resetAt: r[i + 1]! });
      }
      const output: EvaluateOutput = { allowed: (status & 1) === 1, now, limits: outcomes, anomalies };
      outputs.push(reservation ? { ...output, reservation } : output);
    }
  }
  return n;
}

const sameArgs = (a: readonly (string | number)[], b: readonly (string | number)[]) => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/**
 * The script and arguments of checks: `check` for one in mode 1 (the usual call), `checks` for
 * any others, both made from check.lua by render.ts. Numkeys, every check's keys, then the checks'
 * arguments by group (checks in a row with the same arguments go as one group: its count, then
 * the arguments once; `check` takes neither the count nor the mode), each naming its plan by
 * definition when `full` says so. `groups`: the size of each group, for decodeChecks.
 */
export function encodeChecks(calls: readonly { readonly call: CheckCall }[], full: (plan: PlanArg) => boolean): { script: 'check' | 'checks'; command: ScriptArgs; groups: number[] } {
  const alone = calls.length === 1 && calls[0]!.call.mode === 1;
  let keys = 0;
  for (const { call } of calls) keys += call.keys.length;
  const command: ScriptArgs = [keys];
  for (const { call } of calls) for (const key of call.keys) command.push(key);
  const groups: number[] = [];
  for (let from = 0; from < calls.length; ) {
    const { args, plan } = calls[from]!.call;
    let to = from + 1;
    while (to < calls.length && sameArgs(calls[to]!.call.args, args)) to++;
    groups.push(to - from);
    if (!alone) command.push(to - from);
    const definition = full(plan);
    for (let i = 0; i < args.length; i++) {
      if (i === PLAN_AT && definition) command.push(plan.full);
      else if (i !== MODE_AT || !alone) command.push(args[i]!);
    }
    from = to;
  }
  return { script: alone ? 'check' : 'checks', command, groups };
}

/** The arguments of settle.lua (see its header). */
export function encodeSettle(request: StoreSettleRequest, k: IdentifierKeys): ScriptArgs {
  const keys: string[] = [k.state];
  const limits: ScriptArgs = [request.limits.length];
  for (const l of request.limits) {
    if (l.code === LOG) keys.push(k.log(l.name));
    limits.push(l.name, l.code, l.limit, l.windowMs, request.costs.get(l.name) ?? -1);
  }
  keys.push(k.reservations);
  return [keys.length, ...keys, request.now ?? '', `${request.reservationId}|${request.expiresAt}`, request.stateTtlMs, ...limits, ...settleAnomalyArgs(request.anomaly)];
}

const SETTLE_STATUS: Record<number, SettleStatus> = { 0: 'unknown', 1: 'settled', 2: 'expired' };

/** settle.lua's reply: { status code, now }. */
export function decodeSettle(reply: unknown): { status: SettleStatus; now: number; anomalies: Fired[] } {
  const r = reply as number[];
  return { status: SETTLE_STATUS[r[0]!] ?? 'unknown', now: r[1]!, anomalies: parseFired(r, 2) };
}

/** The arguments of reset.lua (see its header). */
export function encodeReset(request: StoreResetRequest, k: IdentifierKeys): ScriptArgs {
  const logKeys = request.limits.filter((l) => l.code === LOG).map((l) => k.log(l.name));
  const names = request.all ? [] : request.limits.map((l) => l.name);
  return [3 + logKeys.length, k.state, k.reservations, k.denials, ...logKeys, request.all ? 'all' : 'some', request.stateTtlMs, ...names];
}

/** The arguments of inspect.lua (see its header). */
export function encodeInspect(k: IdentifierKeys, now: number | undefined): ScriptArgs {
  return [2, k.state, k.denials, now ?? ''];
}

/** An entry of the recent-denials list ("at:limit", newest first) that inspect.lua reads. */
export const denialEntry = (at: number, limit: string): string => `${at}:${limit}`;

/** inspect.lua's reply: { now, "at:limit;..." newest first, then id, record per live reservation }. */
export function decodeInspect(reply: unknown): StoreInspection {
  const r = reply as (string | number)[];
  const denials = String(r[1] || '')
    .split(';')
    .filter(Boolean)
    .map((d) => {
      const i = d.indexOf(':');
      return { at: Number(d.slice(0, i)), limit: d.slice(i + 1) };
    })
    .reverse();
  const reservations: StoreInspection['reservations'][number][] = [];
  for (let i = 2; i < r.length; i += 2) reservations.push(parseReservation(String(r[i]), String(r[i + 1])));
  return { now: Number(r[0]), denials, reservations: reservations.sort((a, b) => Number(a.id) - Number(b.id)) };
}

/** Reservation record "expiresAt|name,ref,cost|..." as the scripts write it. */
function parseReservation(id: string, record: string): StoreInspection['reservations'][number] {
  const [expiresAt, ...parts] = record.split('|');
  return {
    id,
    expiresAt: Number(expiresAt),
    parts: parts.map((p) => {
      const [limit, , cost] = p.split(',');
      return { limit: limit!, cost: Number(cost) };
    }),
  };
}
