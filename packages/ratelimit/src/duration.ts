import { RateLimitConfigError } from './errors';
import { DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS, WEEK_MS } from './time';

/** A unit people type: `ms`, `s`, `m`, `h`, `d`, `w`, or their long names. */
export type DurationUnit = 'ms' | 's' | 'm' | 'h' | 'd' | 'w';

/**
 * A length of time: a number of milliseconds, or a readable string such as `'30 s'`, `'1 h'`,
 * `'15 minutes'`, `'1 d'`.
 */
export type Duration = number | `${number} ${string}` | `${number}${DurationUnit}`;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: SECOND_MS,
  sec: SECOND_MS,
  second: SECOND_MS,
  seconds: SECOND_MS,
  m: MINUTE_MS,
  min: MINUTE_MS,
  minute: MINUTE_MS,
  minutes: MINUTE_MS,
  h: HOUR_MS,
  hr: HOUR_MS,
  hour: HOUR_MS,
  hours: HOUR_MS,
  d: DAY_MS,
  day: DAY_MS,
  days: DAY_MS,
  w: WEEK_MS,
  week: WEEK_MS,
  weeks: WEEK_MS,
};

/** Converts a {@link Duration} to whole milliseconds; throws {@link RateLimitConfigError} when it is not one. */
export function toMs(value: Duration, what = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
    throw new RateLimitConfigError(`${what}: ${value} is not a positive whole number of milliseconds`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$/.exec(value);
  const factor = match ? UNIT_MS[match[2]!.toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new RateLimitConfigError(
      `${what}: '${value}' is not a duration; write a number of milliseconds or a string like '500 ms', '30 s', '15 m', '1 h', '1 d'`,
    );
  }
  const ms = Number(match[1]) * factor;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new RateLimitConfigError(`${what}: '${value}' is not a positive whole number of milliseconds`);
  }
  return ms;
}

/** Formats milliseconds the way people read them: `'1 h'`, `'90 s'`, `'250 ms'`. */
export function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', DAY_MS],
    ['h', HOUR_MS],
    ['m', MINUTE_MS],
    ['s', SECOND_MS],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  }
  return `${ms} ms`;
}

/** A wait as people say it: "45 seconds", "12 minutes", "3 hours", "2 days" (rounded up). */
export function formatWait(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 120) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  if (m < 120) return `${m} minutes`;
  const h = Math.ceil(m / 60);
  return h < 48 ? `${h} hours` : `${Math.ceil(h / 24)} days`;
}
