// Units of time in milliseconds: the one home of these constants (durations people type are
// parsed in duration.ts, which builds its unit table from them).
export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const WEEK_MS = 7 * DAY_MS;
