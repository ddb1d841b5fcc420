// The client's address for the sign-in limit, read the engine's way (the X-Forwarded-For entry
// the trusted proxies wrote, never the left-most). Without a declared proxy nothing can be
// trusted: `next start` keeps an X-Forwarded-For the client sent itself, so every client then
// shares one address.
import { clientIp } from '@airl/ratelimit/http';

/** The address every client shares when none can be trusted. */
export const UNKNOWN_ADDRESS = 'unknown';

export function clientAddress(headers: Headers, trustedProxyCount: number | undefined): string {
  if (trustedProxyCount === undefined) return UNKNOWN_ADDRESS;
  return clientIp(headers, { trustedProxyCount }) ?? UNKNOWN_ADDRESS;
}
