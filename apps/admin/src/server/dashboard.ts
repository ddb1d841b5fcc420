// The dashboard's data: top consumers per period and unit from the engine's usage boards (no
// keyspace scan), the overrides and blocks in force, and the latest entries of the anomaly stream.
import 'server-only';

import type { Anomaly } from '@airl/ratelimit';
import type { ControlInForce, Period, RateLimitAdmin } from '@airl/ratelimit/admin';

export const PERIODS = ['hour', 'day'] as const satisfies readonly Period[];
/** What the boards count: requests, model tokens and the budget's cents. */
export const UNITS = ['requests', 'tokens', 'cents'] as const;
export type Unit = (typeof UNITS)[number];

export interface Consumer {
  readonly identifier: string;
  readonly amount: number;
}

export type AnomalyRow = Anomaly & { readonly id: string };

export interface Dashboard {
  readonly top: Readonly<Record<Period, Readonly<Record<Unit, readonly Consumer[]>>>>;
  /** Overrides and blocks in force, soonest to end first. */
  readonly controls: readonly ControlInForce[];
  readonly anomalies: readonly AnomalyRow[];
}

export async function dashboard(app: { admin: RateLimitAdmin }, options: { count?: number; anomalies?: number } = {}): Promise<Dashboard> {
  const { admin } = app;
  const count = options.count ?? 10;
  const boards = await Promise.all(
    PERIODS.flatMap((period) => UNITS.map(async (unit) => ({ period, unit, rows: await admin.topConsumers({ period, unit, count }) }))),
  );
  const top = { hour: {}, day: {} } as Record<Period, Record<Unit, readonly Consumer[]>>;
  for (const b of boards) top[b.period][b.unit] = b.rows;
  const [controls, anomalies] = await Promise.all([admin.controls(), admin.anomalies({ count: options.anomalies ?? 20 })]);
  return { top, controls, anomalies: anomalies.map((a) => ({ id: a.id, ...a.anomaly })) };
}
