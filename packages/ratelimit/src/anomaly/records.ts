// An anomaly as it is reported: the record, its stream fields and back, who blocks, and each
// identifier's own history.
import { DAY_MS } from '../time';
import type { AnomalyRule } from './rules';

/** An anomaly, raised once per episode. */
export interface Anomaly {
  readonly rule: AnomalyRule;
  readonly identifier: string;
  readonly plan: string;
  /** What was measured: calls or denials in the window, or this hour's cost. */
  readonly value: number;
  /** What it was compared to. */
  readonly threshold: number;
  /** The window measured over (ms); an hour for cost spikes. */
  readonly windowMs: number;
  /** Store clock, epoch ms. */
  readonly at: number;
  /** Set when the rule blocks automatically: until when (epoch ms, local clock). */
  readonly blockedUntil: number | undefined;
}

/** Who blocks when an anomaly rule does. */
export const ANOMALY_DETECTOR = 'anomaly-detector';

/** An anomaly as stream fields (every value a string). */
export function anomalyFields(a: Anomaly): Record<string, string> {
  return Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
}

/** An anomaly back from stream fields; undefined for an entry that is not one. */
export function parseAnomaly(fields: Readonly<Record<string, string>>): Anomaly | undefined {
  const rule = fields.rule as AnomalyRule;
  if (rule !== 'burst' && rule !== 'denial-storm' && rule !== 'cost-spike') return undefined;
  const n = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return {
    rule,
    identifier: fields.identifier ?? '',
    plan: fields.plan ?? '',
    value: n(fields.value) ?? 0,
    threshold: n(fields.threshold) ?? 0,
    windowMs: n(fields.windowMs) ?? 0,
    at: n(fields.at) ?? 0,
    blockedUntil: n(fields.blockedUntil),
  };
}

/**
 * Each identifier's own anomaly history (the admin's creator view): its last 20 anomalies, kept
 * 7 days after the last one. The shared `anomalies` stream is capped by `streamLength`.
 */
export const IDENTIFIER_HISTORY = { length: 20, ttlMs: 7 * DAY_MS } as const;
