// The client's address for the sign-in limit. Each proxy appends the address it received the
// request from to X-Forwarded-For, so only the right-most entries, written by proxies we run, can
// be trusted. Without a declared proxy nothing can: `next start` keeps an X-Forwarded-For the
// client sent itself, so every client then shares one address.
import { isIP } from 'node:net';

/** The address every client shares when none can be trusted. */
export const UNKNOWN_ADDRESS = 'unknown';

export function clientAddress(headers: Headers, trustedProxyCount: number | undefined): string {
  if (trustedProxyCount === undefined) return UNKNOWN_ADDRESS;
  const entries = (headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const entry = entries[entries.length - trustedProxyCount];
  if (entry === undefined) return UNKNOWN_ADDRESS;
  // strip a port ("1.2.3.4:5678", "[::1]:5678") some proxies add
  const address = entry.startsWith('[') ? entry.slice(1, entry.indexOf(']')) : /^[\d.]+:\d+$/.test(entry) ? entry.slice(0, entry.lastIndexOf(':')) : entry;
  return isIP(address) === 0 ? UNKNOWN_ADDRESS : address.toLowerCase();
}
