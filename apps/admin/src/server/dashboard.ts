// The dashboard's data: top consumers per period and unit from the engine's usage boards (no
// keyspace scan), and the latest entries of the anomaly stream.
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

export interface Dashboard {
  readonly top: Readonly<Record<Period, Readonly<Record<Unit, readonly Consumer[]>>>>;
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

export async function dashboard(admin: RateLimitAdmin, options: { count?: number; anomalies?: number } = {}): Promise<Dashboard> {
  const count = options.count ?? 10;
  const boards = await Promise.all(
    PERIODS.flatMap((period) => UNITS.map(async (unit) => ({ period, unit, rows: await admin.topConsumers({ period, unit, count }) }))),
  );
  const top = { hour: {}, day: {} } as Record<Period, Record<Unit, readonly Consumer[]>>;
  for (const b of boards) top[b.period][b.unit] = b.rows;
  const anomalies = (await admin.anomalies({ count: options.anomalies ?? 20 })).map(anomalyRow);
  return { top, anomalies };
}
