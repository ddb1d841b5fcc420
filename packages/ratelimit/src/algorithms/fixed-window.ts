// Fixed-window counter over windows of `windowMs`, or over calendar months in UTC.
// Mirrored by src/lua/include/fixed-window.lua (fixed_load, fixed_remaining, ...).
import type { Algorithm } from './types';
import { DAY_MS as DAY } from '../time';

export interface FixedState {
  readonly kind: 'fixed';
  /** Epoch ms where the counted window starts. */
  start: number;
  count: number;
}


/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** [start, end) in epoch ms of the UTC calendar month that contains `now`. */
function monthBounds(now: number): [number, number] {
  const z = Math.floor(now / DAY) + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const next = month === 12 ? [year + 1, 1] : [year, month + 1];
  return [daysFromCivil(year, month) * DAY, daysFromCivil(next[0]!, next[1]!) * DAY];
}

function windowBounds(now: number, windowMs: number, calendarMonth: boolean): [number, number] {
  if (calendarMonth) return monthBounds(now);
  const start = Math.floor(now / windowMs) * windowMs;
  return [start, start + windowMs];
}

function fixed(calendarMonth: boolean): Algorithm<FixedState> {
  return {
    kind: 'fixed',
    load(s, limit, now) {
      const [start] = windowBounds(now, limit.windowMs, calendarMonth);
      if (!s) return { kind: 'fixed', start, count: 0 };
      if (s.start !== start) {
        s.start = start;
        s.count = 0;
      }
      return s;
    },
    remaining: (s, limit) => Math.max(0, limit.limit - s.count),
    charge(s, _limit, _now, cost) {
      s.count += cost;
      return s.start;
    },
    outcome(s, limit, now, _need, fits) {
      const remaining = Math.max(0, limit.limit - s.count);
      return { fits, remaining, resetAt: fits && remaining >= limit.limit ? now : windowBounds(now, limit.windowMs, calendarMonth)[1] };
    },
    // `ref`: the start of the window charged
    adjust(s, _limit, _now, ref, reserved, cost) {
      if (s.start === ref) s.count = Math.max(0, s.count + cost - reserved);
    },
  };
}

/** A fixed window of `windowMs`. */
export const fixedWindow = fixed(false);
/** A fixed window that is the UTC calendar month (code 5, "month"). */
export const calendarMonth = fixed(true);
