// The wire protocol of the Lua scripts (src/lua/*.lua, whose headers it must match): how a
// check's keys and arguments are laid out and how replies decode. src/stores/redis.ts sends them.
import { createHash } from 'node:crypto';

import { type AnomalyRule, rulesArg } from '../anomaly';
import type { EvaluateOutput, SettleStatus } from '../model';
import { AlgorithmCode, type CompiledLimit } from '../policy';
import type { StoreEvaluateRequest, StoreInspection } from '../stores/types';

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

/** The plan argument of a check (see learn_plan in src/lua/include/lib.lua). */
export function planArg(limits: readonly CompiledLimit[], stateTtlMs: number, reservationTtlMs: number, rules: string): PlanArg {
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
  return arg;
}

/** One check as check.lua reads it: its keys, its arguments (the plan's id at PLAN_AT). */
export interface CheckCall {
  readonly keys: string[];
  readonly args: (string | number)[];
  readonly plan: PlanArg;
  /** How many limits: the length of its reply. */
  readonly limits: number;
}

export const PLAN_AT = 2;

export function encodeCheck(request: StoreEvaluateRequest, k: IdentifierKeys): CheckCall {
  const mode = request.mode === 'peek' ? 0 : request.mode === 'check' ? 1 : 2;
  const rules = request.anomaly ? rulesArg(request.anomaly.rules) : '';
  const plan = planArg(request.limits, request.stateTtlMs, request.reservationTtlMs, rules);
  const keys: string[] = [];
  // the state hash only when the script uses it (see check.lua)
  if (mode === 2 || rules !== '' || request.limits.some((l) => l.code !== LOG)) keys.push(k.state);
  const args: (string | number)[] = [request.now ?? '', mode, plan.id, request.anomaly?.cost ?? 0, request.anomaly?.pendingDenied ?? 0];
  request.limits.forEach((l, i) => {
    if (l.code === LOG) keys.push(k.log(l.name));
    args.push(request.costs[i]!);
  });
  if (mode === 2) keys.push(k.reservations);
  return { keys, args, plan, limits: request.limits.length };
}

const RULES: Record<number, AnomalyRule> = { 1: 'burst', 2: 'denial-storm', 3: 'cost-spike' };

/**
 * Decodes the check replies of one call (one flat list, see check.lua) for `checks`, in order,
 * into `outputs`; returns how many checks ran (the rest: plan unknown).
 */
export function decodeChecks(reply: unknown, checks: readonly { readonly call: Pick<CheckCall, 'limits'> }[], outputs: EvaluateOutput[]): number {
  const r = reply as number[];
  let i = 0;
  let n = 0;
  for (; n < checks.length && i < r.length; n++) {
    const fired = r[i + 4]!;
    const anomalies: EvaluateOutput['anomalies'][number][] = [];
    let j = i + 5;
    for (let f = 0; f < fired; f++, j += 3) anomalies.push({ rule: RULES[r[j]!]!, value: r[j + 1]!, threshold: r[j + 2]! });
    const outcomes: EvaluateOutput['limits'][number][] = [];
    for (let l = 0; l < checks[n]!.call.limits; l++, j += 3) outcomes.push({ fits: r[j] === 1, remaining: r[j + 1]!, resetAt: r[j + 2]! });
    const output: EvaluateOutput = { allowed: r[i] === 1, now: r[i + 1]!, limits: outcomes, anomalies };
    outputs.push(r[i + 2] ? { ...output, reservation: { id: String(r[i + 2]), expiresAt: r[i + 3]! } } : output);
    i = j;
  }
  return n;
}

/** KEYS and ARGV tail of settle.lua: log keys, then n and 5 args per limit. */
export function limitArgs(k: IdentifierKeys, limits: readonly CompiledLimit[], cost: (l: CompiledLimit) => number) {
  const keyList: string[] = [k.state];
  const args: (string | number)[] = [limits.length];
  for (const l of limits) {
    if (l.code === LOG) keyList.push(k.log(l.name));
    args.push(l.name, l.code, l.limit, l.windowMs, cost(l));
  }
  return { keyList, args };
}

export const SETTLE_STATUS: Record<number, SettleStatus> = { 0: 'unknown', 1: 'settled', 2: 'expired' };

/** Reservation record "expiresAt|name,ref,cost|..." as the scripts write it. */
export function parseReservation(id: string, record: string): StoreInspection['reservations'][number] {
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
