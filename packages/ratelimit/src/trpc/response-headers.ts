// The rate limit headers of one HTTP response: every rateLimited() of a request (a batch shares
// its headers) merges into them, so they show the most restrictive state of each limit.
import { formatRateLimitHeaders, type HeaderLimitState, mergeStates, type RateLimitHeaderOptions } from './headers';

// the most restrictive state of each limit seen during one HTTP request (a batch shares its headers)
const perResponse = new WeakMap<Headers, Map<string, HeaderLimitState>>();

/** Records a result's limits for the response and rewrites its rate limit headers. */
export function writeRateLimitHeaders(headers: Headers, states: readonly HeaderLimitState[], options: RateLimitHeaderOptions = {}): void {
  let merged = perResponse.get(headers);
  if (!merged) {
    merged = new Map();
    perResponse.set(headers, merged);
  }
  mergeStates(merged, states);
  const values = formatRateLimitHeaders(merged.values(), options);
  for (const [name, value] of Object.entries(values)) headers.set(name, value);
}

/**
 * Rewrites the headers with what the store recorded after a settle: those states replace the
 * ones seen earlier in the response (the estimate's), except denials and newer readings.
 */
export function writeSettledHeaders(headers: Headers, states: readonly HeaderLimitState[], options: RateLimitHeaderOptions): void {
  let merged = perResponse.get(headers);
  if (!merged) {
    merged = new Map();
    perResponse.set(headers, merged);
  }
  for (const s of states) {
    const key = `${s.group}:${s.name}`;
    const seen = merged.get(key);
    if (!seen || (seen.allowed && seen.now <= s.now)) merged.set(key, s);
  }
  const values = formatRateLimitHeaders(merged.values(), options);
  for (const [name, value] of Object.entries(values)) headers.set(name, value);
}
