// Entry point `@airl/ratelimit/trpc`: rateLimited(), a tRPC v11 middleware that checks (or
// reserves and settles) a limiter per procedure call, puts the result in `ctx.rateLimit`, denies
// with TOO_MANY_REQUESTS, and writes the rate limit headers of the HTTP response.
// The parts live in src/trpc/: types.ts (meta, context, options, error data), middleware.ts
// (rateLimited), errors.ts (the denial error, the error formatter, error mapping), headers.ts and
// response-headers.ts (the headers), identify.ts (byClientIp).
export { clientIp, type TrustedProxyOptions } from './client-ip';
export { formatWait } from './duration';
export { RateLimitExceededError, rateLimitErrorData, rateLimitErrorFormatter, type RateLimitErrorShape } from './trpc/errors';
export { formatRateLimitHeaders, type HeaderLimitState, type RateLimitHeaderOptions } from './trpc/headers';
export { byClientIp } from './trpc/identify';
export { rateLimited } from './trpc/middleware';
export { writeRateLimitHeaders } from './trpc/response-headers';
export type {
  ProcedureRateLimit,
  RateLimitBaseContext,
  RateLimitCallOptions,
  RateLimitContext,
  RateLimitedOptions,
  RateLimitErrorData,
  RateLimitErrorLimit,
  RateLimitMeta,
  RateLimitMiddleware,
  RateLimitReason,
  RateLimitState,
} from './trpc/types';
