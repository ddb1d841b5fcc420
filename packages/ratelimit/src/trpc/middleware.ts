// rateLimited(): per procedure call, identifies the caller, checks (or reserves) the limiter,
// writes the response's rate limit headers, denies with the errors of ./errors, hands
// `ctx.rateLimit` to the procedure, then settles or refunds a reservation.
import { initTRPC, TRPCError, type TRPCMiddlewareFunction, type TRPCUnsetMarker } from '@trpc/server';

import type { Cost, RateLimiter, RateLimitResult, Reservation } from '../limiter';
import { deniedError, toTRPCError } from './errors';
import { limitStates, type RateLimitHeaderOptions } from './headers';
import { writeRateLimitHeaders, writeSettledHeaders } from './response-headers';
import type { RateLimitBaseContext, RateLimitCallOptions, RateLimitContext, RateLimitedOptions, RateLimitMeta, RateLimitMiddleware, RateLimitState } from './types';

/**
 * A tRPC v11 middleware that rate limits a procedure. Attach it with `.use(limit)` or
 * `.concat(limit.procedure)`, after `.input()` when the cost depends on the input.
 *
 * @example
 * const aiLimit = rateLimited<Context, 'starter' | 'pro'>({
 *   limiter: ai, group: 'ai',
 *   plan: ({ ctx }) => ctx.plan,
 *   reserve: { estimate: { tokens: 1500 }, actual: ({ output }) => ({ tokens: (output as Out).usage.totalTokens }) },
 * });
 * const caption = t.procedure.input(schema).use(aiLimit).mutation(({ ctx }) => ctx.rateLimit.remaining);
 */
export function rateLimited<TCtx extends RateLimitBaseContext = RateLimitBaseContext, P extends string = string>(
  options: RateLimitedOptions<TCtx, P>,
): RateLimitMiddleware<TCtx, P> {
  const group = options.group ?? 'default';
  const limiterOf = typeof options.limiter === 'function' ? options.limiter : () => options.limiter as RateLimiter<P>;
  const headersOf = options.headers ?? ((ctx: TCtx) => (ctx.resHeaders instanceof Headers ? ctx.resHeaders : undefined));
  const identify = options.identify ?? (({ ctx }: RateLimitCallOptions<TCtx>) => ctx.creatorId);
  const ignore = () => undefined;
  const onSettleError = options.onSettleError ?? ignore;
  const headerOptions: RateLimitHeaderOptions = { ...(options.quotaUnitVendor !== undefined && { vendor: options.quotaUnitVendor }) };

  // a plain middleware function (tRPC's public `TRPCMiddlewareFunction`): any router's `.use()`
  // takes it as it is, and a procedure builder of our own carries it for `.concat()`
  const middleware: TRPCMiddlewareFunction<TCtx, RateLimitMeta, object, RateLimitContext<P>, unknown> = async (opts) => {
    const settings = opts.meta?.rateLimit?.[group];
    // the group is off for this procedure: no rate limit state is added
    if (settings === false) return opts.next();
    const call: RateLimitCallOptions<TCtx> = { ctx: opts.ctx as TCtx, input: opts.input, getRawInput: opts.getRawInput, meta: opts.meta, path: opts.path };
    const limiter = limiterOf(call.ctx);

    let identifier: string;
    let plan: P;
    let result: RateLimitResult;
    let reservation: Reservation | undefined;
    let estimate: Cost | undefined;
    try {
      const who = await identify(call);
      if (who === undefined || who === null || who === '') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to use this feature.' });
      identifier = String(who);
      plan = await options.plan(call);
      const wait = typeof options.wait === 'function' ? options.wait(call) : options.wait;
      const waiting = wait === undefined ? {} : { wait, ...(opts.signal && { signal: opts.signal }) };
      if (options.reserve) {
        const e = settings?.estimate ?? options.reserve.estimate;
        estimate = typeof e === 'function' ? await e(call) : e;
        const reserved = await limiter.reserve(identifier, { plan, cost: estimate, ...waiting });
        result = reserved;
        reservation = reserved.reservation;
      } else {
        const c = settings?.cost ?? options.cost;
        const cost = typeof c === 'function' ? await c(call) : c;
        result = await limiter.check(identifier, { plan, ...(cost !== undefined && { cost }), ...waiting });
      }
    } catch (error) {
      throw toTRPCError(error);
    }

    const headers = headersOf(call.ctx);
    if (headers) writeRateLimitHeaders(headers, limitStates(result, limiter.plans.get(plan), group), headerOptions);

    if (!result.allowed) throw deniedError(result, group, options);

    let done = false;
    const noReservation = () => Promise.reject(new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `rateLimited('${group}') is not in reserve mode: nothing to settle` }));
    const state: RateLimitState<P> = {
      ...result,
      group,
      identifier,
      plan,
      reservation,
      settle(cost) {
        if (!reservation) return noReservation();
        done = true;
        return limiter.settle(reservation, { cost });
      },
      refund() {
        if (!reservation) return noReservation();
        done = true;
        return limiter.refund(reservation);
      },
    };

    const outcome = await opts.next({ ctx: { rateLimit: state, rateLimits: { ...call.ctx.rateLimits, [group]: state } } });

    if (reservation && !done) {
      try {
        if (outcome.ok) {
          const actual = options.reserve?.actual?.({ ...call, output: outcome.data });
          await limiter.settle(reservation, { cost: actual ?? estimate! });
        } else {
          await limiter.refund(reservation);
        }
      } catch (error) {
        onSettleError(error);
      }
    }
    if (reservation && headers) {
      // the response shows what is recorded after the settle, not the estimate (one more read)
      try {
        const after = await limiter.peek(identifier, { plan });
        if (after.degraded === undefined) {
          const states = limitStates(after, limiter.plans.get(after.plan as P), group).map((s) => ({ ...s, allowed: true, retryAfterMs: 0 }));
          writeSettledHeaders(headers, states, headerOptions);
        }
      } catch (error) {
        onSettleError(error);
      }
    }
    return outcome;
  };

  // the builder is typed for the base context; RateLimitMiddleware states it for TCtx (a generic
  // context cannot go through initTRPC.context<TCtx>()'s conditional types)
  const t = initTRPC.context<RateLimitBaseContext>().meta<RateLimitMeta>().create();
  const procedure = t.procedure.use(middleware as unknown as TRPCMiddlewareFunction<RateLimitBaseContext, RateLimitMeta, object, RateLimitContext<P>, TRPCUnsetMarker>);
  return Object.assign(middleware, { procedure }) as unknown as RateLimitMiddleware<TCtx, P>;
}
