// The client's address for the sign-in limit, read the engine's way (the X-Forwarded-For entry
// the trusted proxies wrote, never the left-most). With TRUSTED_PROXY_COUNT=0 nothing is trusted
// and every client shares one address (the per-source limits then act as global ones; known
// devices still get in).
import 'server-only';

import { clientIp } from '@airl/ratelimit/http';

/** The address every client shares when none can be trusted. */
export const UNKNOWN_ADDRESS = 'unknown';

export function clientAddress(headers: Headers, trustedProxyCount: number): string {
  if (trustedProxyCount === 0) return UNKNOWN_ADDRESS;
  return clientIp(headers, { trustedProxyCount }) ?? UNKNOWN_ADDRESS;
}
