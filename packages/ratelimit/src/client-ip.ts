// The client's address behind proxies. Each proxy appends the address it received the request
// from to X-Forwarded-For, so only the right-most entries, written by proxies we run, can be
// trusted: the left-most entry is whatever the client chose to send.
import { isIP } from 'node:net';

import { RateLimitConfigError } from './errors';

/** How the client address is read; see {@link clientIp}. */
export interface TrustedProxyOptions {
  /**
   * How many proxies you run in front of the app, each appending to `X-Forwarded-For` (for
   * example 1 behind one load balancer, 2 behind CloudFront and a load balancer). The client is
   * the entry this many places from the right. Required: without it no header can be trusted.
   */
  trustedProxyCount: number;
  /**
   * The header the proxies write.
   * @default 'x-forwarded-for'
   */
  header?: string;
}

/** Validates {@link TrustedProxyOptions}; throws {@link RateLimitConfigError} when they are unusable. */
export function checkTrustedProxies(options: TrustedProxyOptions | undefined): Required<TrustedProxyOptions> {
  const count = options?.trustedProxyCount;
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
    throw new RateLimitConfigError(
      `trustedProxyCount: ${String(count)} must be the number of proxies you run in front of the app (>= 1); ` +
        'identifying callers by IP without it would trust an address the client can forge',
    );
  }
  return { trustedProxyCount: count, header: (options?.header ?? 'x-forwarded-for').toLowerCase() };
}

/**
 * The client's IP address from the header the trusted proxies write, or undefined when the request
 * did not pass through them (fewer entries than proxies) or the entry is not an IP address.
 */
export function clientIp(headers: Headers, options: TrustedProxyOptions): string | undefined {
  const { trustedProxyCount, header } = checkTrustedProxies(options);
  const entries = (headers.get(header) ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const entry = entries[entries.length - trustedProxyCount];
  if (entry === undefined) return undefined;
  // strip a port ("1.2.3.4:5678", "[::1]:5678") some proxies add
  const address = entry.startsWith('[') ? entry.slice(1, entry.indexOf(']')) : /^[\d.]+:\d+$/.test(entry) ? entry.slice(0, entry.lastIndexOf(':')) : entry;
  return isIP(address) === 0 ? undefined : address.toLowerCase();
}
