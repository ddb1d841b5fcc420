// Who is counted when the caller is not signed in: the client's IP address behind trusted proxies.
import { checkTrustedProxies, clientIp, type TrustedProxyOptions } from '../client-ip';
import type { RateLimitBaseContext, RateLimitCallOptions } from './types';

/**
 * Identifies callers by IP address, read from the header your proxies write. Never the left-most
 * `X-Forwarded-For` entry (the client writes that one): the entry `trustedProxyCount` places from
 * the right. Reads `ctx.req.headers`; identifiers look like `ip:203.0.113.7`.
 *
 * @example
 * rateLimited({ limiter, plan: () => 'anonymous', identify: byClientIp({ trustedProxyCount: 1 }) })
 */
export function byClientIp<TCtx extends RateLimitBaseContext>(options: TrustedProxyOptions): (opts: RateLimitCallOptions<TCtx>) => string | undefined {
  const checked = checkTrustedProxies(options);
  return ({ ctx }) => {
    const headers = ctx.req?.headers;
    const ip = headers && clientIp(headers, checked);
    return ip && `ip:${ip}`;
  };
}
