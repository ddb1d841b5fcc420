// The dashboard's data: top consumers per period and unit from the engine's usage boards (no
// keyspace scan), the overrides and blocks in force, and the latest entries of the anomaly stream.
import type { Limiters } from '@airl/creators/limiters';
import type { Period, RateLimitAdmin, StreamEntry } from '@airl/ratelimit';

export const PERIODS = ['hour', 'day'] as const satisfies readonly Period[];
/** What the boards count: requests, model tokens and the budget's cents. */
export const UNITS = ['requests', 'tokens', 'cents'] as const;
export type Unit = (typeof UNITS)[number];

export interface Consumer {
  readonly identifier: string;
  readonly amount: number;
}

export interface AnomalyRow {
  readonly id: string;
  readonly rule: string;
  readonly identifier: string;
  readonly plan: string;
  readonly value: number;
  readonly threshold: number;
  readonly windowMs: number;
  /** Epoch ms. */
  readonly at: number;
  readonly blockedUntil: number | undefined;
}

/** An override or a block in force (the parts that expired are left out). */
export interface ControlRow {
  readonly identifier: string;
  readonly plan: string | undefined;
  readonly planUntil: number | undefined;
  readonly blockedUntil: number | undefined;
  /** Who made the latest change, and why (an admin, or the anomaly detector). */
  readonly by: string | undefined;
  readonly reason: string | undefined;
}

export interface Dashboard {
  readonly top: Readonly<Record<Period, Readonly<Record<Unit, readonly Consumer[]>>>>;
  readonly controls: readonly ControlRow[];
  readonly anomalies: readonly AnomalyRow[];
}

const num = (v: string | undefined) => (v === undefined || v === '' ? NaN : Number(v));

/** An anomaly stream entry as the limiter writes it (every field a string). */
export function anomalyRow(entry: StreamEntry): AnomalyRow {
  const f = entry.fields;
  const blockedUntil = num(f.blockedUntil);
  return {
    id: entry.id,
    rule: f.rule ?? '?',
    identifier: f.identifier ?? '',
    plan: f.plan ?? '',
    value: num(f.value),
    threshold: num(f.threshold),
    windowMs: num(f.windowMs),
    at: Number.isFinite(num(f.at)) ? num(f.at) : Number(entry.id.split('-')[0]),
    blockedUntil: Number.isFinite(blockedUntil) ? blockedUntil : undefined,
  };
}

/**
 * Overrides and blocks in force, soonest to end first. The admin API has no listing; the store's
 * `controls()` (its public interface, one hash read of only the identifiers admins or the anomaly
 * detector acted on) is what every limiter loads them from.
 */
export async function controlsInForce(limiters: Pick<Limiters, 'limiter'>, now = Date.now()): Promise<ControlRow[]> {
  const rows: ControlRow[] = [];
  for (const [identifier, c] of await limiters.limiter.store.controls()) {
    const planLive = c.plan !== undefined && (c.planUntil ?? Infinity) > now;
    const blockLive = c.blockedUntil !== undefined && c.blockedUntil > now;
    if (!planLive && !blockLive) continue;
    rows.push({ identifier, plan: planLive ? c.plan : undefined, planUntil: planLive ? c.planUntil : undefined, blockedUntil: blockLive ? c.blockedUntil : undefined, by: c.by, reason: c.reason });
  }
  const ends = (r: ControlRow) => Math.min(r.planUntil ?? Infinity, r.blockedUntil ?? Infinity);
  return rows.sort((a, b) => ends(a) - ends(b) || a.identifier.localeCompare(b.identifier));
}

export async function dashboard(app: { admin: RateLimitAdmin; limiters: Pick<Limiters, 'limiter'> }, options: { count?: number; anomalies?: number } = {}): Promise<Dashboard> {
  const { admin } = app;
  const count = options.count ?? 10;
  const boards = await Promise.all(
    PERIODS.flatMap((period) => UNITS.map(async (unit) => ({ period, unit, rows: await admin.topConsumers({ period, unit, count }) }))),
  );
  const top = { hour: {}, day: {} } as Record<Period, Record<Unit, readonly Consumer[]>>;
  for (const b of boards) top[b.period][b.unit] = b.rows;
  const [controls, anomalies] = await Promise.all([controlsInForce(app.limiters), admin.anomalies({ count: options.anomalies ?? 20 })]);
  return { top, controls, anomalies: anomalies.map(anomalyRow) };
}
