// How the middleware fails: the denial error with its client data (`error.data.rateLimit` through
// the error formatter), and the mapping of the limiter's errors to tRPC codes (a wait cancelled by
// the client is CLIENT_CLOSED_REQUEST, a store outage SERVICE_UNAVAILABLE, a bad cost BAD_REQUEST).
import { TRPCError, type TRPCDefaultErrorShape } from '@trpc/server';

import { formatWait } from '../duration';
import { RateLimiterError, RateLimitInputError, RateLimitStoreError } from '../errors';
import type { RateLimitResult } from '../limiter';
import { RateLimitWaitAbortedError } from '../wait';
import type { RateLimitedOptions, RateLimitErrorData } from './types';

/** The `cause` of a rate-limit `TRPCError`. */
export class RateLimitExceededError extends Error {
  override readonly name = 'RateLimitExceededError';
  constructor(
    message: string,
    /** What the client is told (see {@link RateLimitErrorData}). */
    readonly data: RateLimitErrorData,
  ) {
    super(message);
  }
}

/** The rate limit data of an error, or null when it is not a rate-limit denial. */
export function rateLimitErrorData(error: unknown): RateLimitErrorData | null {
  const cause = error instanceof TRPCError ? error.cause : error;
  return cause instanceof RateLimitExceededError ? cause.data : null;
}

/** The error shape {@link rateLimitErrorFormatter} produces. */
export type RateLimitErrorShape<TShape extends TRPCDefaultErrorShape = TRPCDefaultErrorShape> = TShape & {
  data: TShape['data'] & { rateLimit: RateLimitErrorData | null };
};

/**
 * An error formatter that adds `data.rateLimit` ({@link RateLimitErrorData}, or null) to every
 * error, typed on the client through the router's types.
 *
 * @example
 * const t = initTRPC.context<Context>().meta<RateLimitMeta>().create({ errorFormatter: rateLimitErrorFormatter });
 * // client: if (error.data?.rateLimit) show(`try again in ${error.data.rateLimit.retryAfterMs} ms`)
 */
export function rateLimitErrorFormatter<TShape extends TRPCDefaultErrorShape>(opts: { shape: TShape; error: TRPCError }): RateLimitErrorShape<TShape> {
  return { ...opts.shape, data: { ...opts.shape.data, rateLimit: rateLimitErrorData(opts.error) } };
}

const defaultMessage = (r: RateLimitResult) =>
  r.sharedBudget
    ? `The platform-wide limit '${r.deniedBy ?? ''}' is reached (shared by every creator; not a limit of your plan): try again in ${formatWait(r.retryAfterMs)}.`
    : `Rate limit '${r.deniedBy ?? ''}' reached: try again in ${formatWait(r.retryAfterMs)}.`;

/**
 * The error of a denied call: SERVICE_UNAVAILABLE when the store failed and the plan fails
 * closed (a service problem, not the caller's limit), else TOO_MANY_REQUESTS with
 * {@link RateLimitExceededError} as its cause.
 */
export function deniedError(result: RateLimitResult, group: string, options: Pick<RateLimitedOptions<unknown, string>, 'message' | 'reason' | 'retryable'>): TRPCError {
  if (result.deniedBy === 'store-unavailable') {
    // the store failed and this plan fails closed: a service problem, not the caller's limit
    return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: `Rate limiting is unavailable; try again in ${formatWait(result.retryAfterMs)}.` });
  }
  const message = options.message ?? defaultMessage;
  const denied = result.limits.find((l) => l.name === result.deniedBy);
  const blocked = result.deniedBy === 'blocked';
  const text = blocked ? `This account is blocked from this feature for ${formatWait(result.retryAfterMs)}.` : message(result);
  return new TRPCError({
    code: 'TOO_MANY_REQUESTS',
    message: text,
    cause: new RateLimitExceededError(text, {
      group,
      reason: blocked ? 'BLOCKED' : typeof options.reason === 'function' ? options.reason(result) : (options.reason ?? 'RATE_LIMITED'),
      retryable: blocked || (typeof options.retryable === 'function' ? options.retryable(result) : (options.retryable ?? true)),
      retryAfterMs: result.retryAfterMs,
      limit: result.limit,
      remaining: result.remaining,
      resetAt: result.resetAt,
      deniedBy: result.deniedBy ?? '',
      unit: denied?.unit ?? 'requests',
      limits: result.limits.map((l) => ({ name: l.name, unit: l.unit, limit: l.limit, remaining: l.remaining, resetAt: l.resetAt, retryAfterMs: l.retryAfterMs, allowed: l.allowed })),
      ...(result.sharedBudget && { sharedBudget: result.sharedBudget }),
    }),
  });
}

/** Any error of identifying, pricing or limiting a call, as the TRPCError the client gets. */
export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof RateLimitWaitAbortedError) return new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'The request was cancelled while waiting for room.', cause: error });
  if (error instanceof RateLimitStoreError) return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'Rate limiting is unavailable; try again shortly.', cause: error });
  if (error instanceof RateLimitInputError && (error.code === 'INVALID_COST' || error.code === 'COST_OVER_LIMIT')) {
    return new TRPCError({ code: 'BAD_REQUEST', message: error.message, cause: error });
  }
  if (error instanceof RateLimiterError) return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Rate limiting is misconfigured.', cause: error });
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error });
}
