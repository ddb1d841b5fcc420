// Entry point `@airl/ratelimit/trpc`: rateLimited(), a tRPC v11 middleware that checks (or
// reserves and settles) a limiter per procedure call, puts the result in `ctx.rateLimit`, denies
// with TOO_MANY_REQUESTS, and writes the rate limit headers of the HTTP response.
import {
  initTRPC,
  TRPCError,
  type TRPCDefaultErrorShape,
  type TRPCMiddlewareFunction,
  type TRPCProcedureBuilder,
  type TRPCUnsetMarker,
} from '@trpc/server';

import { RateLimiterError, RateLimitInputError, RateLimitStoreError } from './errors';
import type { Cost, RateLimiter, RateLimitResult, Reservation, SettleResult } from './limiter';
import { checkTrustedProxies, clientIp, type TrustedProxyOptions } from './client-ip';
import { type Duration, formatWait } from './duration';
import { formatRateLimitHeaders, type HeaderLimitState, limitStates, mergeStates, type RateLimitHeaderOptions } from './trpc/headers';
import { RateLimitWaitAbortedError } from './wait';

export { clientIp, type TrustedProxyOptions } from './client-ip';
export { formatWait } from './duration';
export { formatRateLimitHeaders, type HeaderLimitState, type RateLimitHeaderOptions } from './trpc/headers';

/** Per-procedure settings, by limit group, in the procedure's `.meta({ rateLimit: { ai: ... } })`. */
export interface ProcedureRateLimit {
  /** What a call of this procedure costs; overrides the middleware's `cost`. */
  cost?: Cost;
  /** The estimate to reserve; overrides the middleware's `reserve.estimate`. */
  estimate?: Cost;
}

/**
 * The meta a router needs for per-procedure settings: `initTRPC.meta<RateLimitMeta>()`.
 * `false` for a group turns that group's middleware off for the procedure.
 *
 * @example
 * t.procedure.meta({ rateLimit: { ai: { cost: 3 }, spend: false } })
 */
export interface RateLimitMeta {
  rateLimit?: Readonly<Record<string, ProcedureRateLimit | false>>;
}

/**
 * Why a call was denied: a rate limit (retry later), a quota (wait for the period to end), or an
 * admin's or an anomaly rule's block (until it lifts).
 */
export type RateLimitReason = 'RATE_LIMITED' | 'QUOTA_EXCEEDED' | 'BLOCKED';

/** One limit's state in the error data. */
export interface RateLimitErrorLimit {
  readonly name: string;
  readonly unit: string;
  readonly limit: number;
  readonly remaining: number;
  readonly resetAt: number;
  readonly retryAfterMs: number;
  readonly allowed: boolean;
}

/** What a denied call's error carries to the client, under `error.data.rateLimit`. */
export interface RateLimitErrorData {
  /** The middleware's limit group, for example `'ai'` or `'spend'`. */
  readonly group: string;
  readonly reason: RateLimitReason;
  /** Whether retrying after `retryAfterMs` can succeed (false for a used-up quota). */
  readonly retryable: boolean;
  /** ms until the call would fit. */
  readonly retryAfterMs: number;
  /** The denying limit's size, units left and reset time (epoch ms). */
  readonly limit: number;
  readonly remaining: number;
  readonly resetAt: number;
  /** The denying limit's name and unit. */
  readonly deniedBy: string;
  readonly unit: string;
  /** Every limit of the plan. */
  readonly limits: readonly RateLimitErrorLimit[];
  /** Present when a shared budget denied: its name (a platform-wide limit, not the caller's plan). */
  readonly sharedBudget?: string;
}

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

/** What `ctx.rateLimit` holds inside the procedure. */
export interface RateLimitState<P extends string = string> extends RateLimitResult {
  /** The middleware's limit group. */
  readonly group: string;
  readonly identifier: string;
  readonly plan: P;
  /** Present in reserve mode: the estimate charged before the procedure ran. */
  readonly reservation: Reservation | undefined;
  /**
   * Replaces the reserved estimate with the real cost (reserve mode only). The middleware then
   * leaves the reservation alone. Settling twice answers `unknown` the second time.
   */
  settle(cost: Cost): Promise<SettleResult>;
  /** Gives the reserved estimate back (reserve mode only). */
  refund(): Promise<SettleResult>;
}

/** What the middleware adds to the context. */
export interface RateLimitContext<P extends string = string> {
  /** The result of the last rateLimited() middleware that ran for this call. */
  rateLimit: RateLimitState<P>;
  /** Every rateLimited() result of this call, by limit group. */
  rateLimits: Readonly<Record<string, RateLimitState>>;
}

/** What the middleware reads from the context it is given (all optional). */
export interface RateLimitBaseContext {
  /** The authenticated creator: the default identity. */
  creatorId?: string | number | null | undefined;
  /** The response headers (the fetch adapter's `resHeaders`): the middleware writes rate limit headers there. */
  resHeaders?: Headers | undefined;
  /** The request, for {@link byClientIp}. */
  req?: { headers: Headers } | undefined;
  rateLimits?: Readonly<Record<string, RateLimitState>> | undefined;
}

/** What the option callbacks receive. */
export interface RateLimitCallOptions<TCtx> {
  readonly ctx: TCtx;
  /** The parsed input, when `.input()` comes before the middleware; else undefined (see `getRawInput`). */
  readonly input: unknown;
  readonly getRawInput: () => Promise<unknown>;
  readonly meta: RateLimitMeta | undefined;
  readonly path: string;
}

type MaybePromise<T> = T | Promise<T>;

/** Options of {@link rateLimited}. */
export interface RateLimitedOptions<TCtx, P extends string> {
  /**
   * The limiter of this limit group, or a function of the context that returns it (for a limiter
   * made on first use, so that nothing is configured or connected at import).
   */
  limiter: RateLimiter<P> | ((ctx: TCtx) => RateLimiter<P>);
  /**
   * The limit group: names the settings in meta, the entry in `ctx.rateLimits` and the error data.
   * @default 'default'
   */
  group?: string;
  /** The caller's plan, resolved on the server (from the session, a database...). */
  plan: (opts: RateLimitCallOptions<TCtx>) => MaybePromise<P>;
  /**
   * Who is counted. Return undefined when the caller cannot be identified: the call fails with
   * UNAUTHORIZED. Use {@link byClientIp} to count by IP address behind trusted proxies.
   * @default ctx.creatorId (the authenticated creator)
   */
  identify?: (opts: RateLimitCallOptions<TCtx>) => MaybePromise<string | number | null | undefined>;
  /**
   * What a call costs: a constant or computed from the input (see `Cost`); meta `cost` overrides it.
   * @default one request
   */
  cost?: Cost | ((opts: RateLimitCallOptions<TCtx>) => MaybePromise<Cost>);
  /**
   * Reserve mode, for calls whose cost is known only afterwards (LLM tokens, cents): the estimate
   * is charged before the procedure runs; after it, the real cost replaces it (from `actual`, or
   * `ctx.rateLimit.settle()`); when the procedure fails, the estimate is refunded (unless the
   * procedure settled or refunded itself). The response's rate limit headers then show the state
   * recorded after the settle (one more store read, a `peek`), not the state after the estimate.
   */
  reserve?: {
    /** The cost to reserve; meta `estimate` overrides it. */
    estimate: Cost | ((opts: RateLimitCallOptions<TCtx>) => MaybePromise<Cost>);
    /**
     * The real cost, from the procedure's output. Undefined (or no `actual`) keeps the estimate,
     * unless the procedure settled itself.
     */
    actual?: (opts: RateLimitCallOptions<TCtx> & { output: unknown }) => Cost | undefined;
  };
  /**
   * Waits up to this long for room instead of denying at once (see `WaitOptions.wait`): for AI
   * features a short wait is often better than an error. The wait ends when the client cancels
   * the request (tRPC's `signal`); the call then fails with CLIENT_CLOSED_REQUEST and nothing is
   * charged. A function of the call can choose per procedure (undefined: no wait).
   * @default no wait
   */
  wait?: Duration | ((opts: RateLimitCallOptions<TCtx>) => Duration | undefined);
  /**
   * The reason given to the client on denial, or a function of the result (for example
   * `QUOTA_EXCEEDED` when a monthly budget denied). Blocks always answer `BLOCKED`.
   * @default 'RATE_LIMITED'
   */
  reason?: RateLimitReason | ((result: RateLimitResult) => RateLimitReason);
  /**
   * Whether the client should retry after `retryAfterMs`, or a function of the result.
   * @default true
   */
  retryable?: boolean | ((result: RateLimitResult) => boolean);
  /**
   * The error message on denial.
   * @default "Rate limit '<limit>' reached: try again in <wait>." (in whole seconds, minutes, hours);
   * for a shared budget, "The platform-wide limit '<limit>' is reached (shared by every creator; not
   * a limit of your plan): try again in <wait>."
   */
  message?: (result: RateLimitResult) => string;
  /**
   * Called when settling or refunding fails, or reading the state for the headers after it;
   * the procedure's answer stands.
   * @default ignored
   */
  onSettleError?: (error: unknown) => void;
  /**
   * Where the rate limit headers go. Streaming links (`httpBatchStreamLink`, subscriptions over
   * SSE) send the status and headers before any procedure has run: there the headers are not
   * written and clients read `error.data.rateLimit` instead.
   * @default ctx.resHeaders (the fetch adapter's response headers, if the context passes them on)
   */
  headers?: (ctx: TCtx) => Headers | undefined;
  /**
   * The vendor identifier before units the IETF draft does not register, in `RateLimit-Policy`:
   * a `tokens` limit is announced with `qu="<vendor>-tokens"`.
   * @default 'airl'
   */
  quotaUnitVendor?: string;
}

const defaultMessage = (r: RateLimitResult) =>
  r.sharedBudget
    ? `The platform-wide limit '${r.deniedBy ?? ''}' is reached (shared by every creator; not a limit of your plan): try again in ${formatWait(r.retryAfterMs)}.`
    : `Rate limit '${r.deniedBy ?? ''}' reached: try again in ${formatWait(r.retryAfterMs)}.`;

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
function writeSettledHeaders(headers: Headers, states: readonly HeaderLimitState[], options: RateLimitHeaderOptions): void {
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

function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof RateLimitWaitAbortedError) return new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'The request was cancelled while waiting for room.', cause: error });
  if (error instanceof RateLimitStoreError) return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'Rate limiting is unavailable; try again shortly.', cause: error });
  if (error instanceof RateLimitInputError && (error.code === 'INVALID_COST' || error.code === 'COST_OVER_LIMIT')) {
    return new TRPCError({ code: 'BAD_REQUEST', message: error.message, cause: error });
  }
  if (error instanceof RateLimiterError) return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Rate limiting is misconfigured.', cause: error });
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', cause: error });
}

/**
 * What {@link rateLimited} returns: a middleware for `.use()`, with the same middleware as a
 * procedure builder in `.procedure` for `.concat()`. Either way the procedure's context gains
 * {@link RateLimitContext}.
 */
export type RateLimitMiddleware<TCtx, P extends string> = TRPCMiddlewareFunction<TCtx, RateLimitMeta, object, RateLimitContext<P>, unknown> & {
  /** The middleware as a procedure builder: `t.procedure.concat(limit.procedure)`. */
  readonly procedure: TRPCProcedureBuilder<
    TCtx,
    RateLimitMeta,
    RateLimitContext<P>,
    TRPCUnsetMarker,
    TRPCUnsetMarker,
    TRPCUnsetMarker,
    TRPCUnsetMarker,
    false
  >;
};

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
  const message = options.message ?? defaultMessage;
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

    if (!result.allowed && result.deniedBy === 'store-unavailable') {
      // the store failed and this plan fails closed: a service problem, not the caller's limit
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: `Rate limiting is unavailable; try again in ${formatWait(result.retryAfterMs)}.` });
    }
    if (!result.allowed) {
      const denied = result.limits.find((l) => l.name === result.deniedBy);
      const blocked = result.deniedBy === 'blocked';
      const text = blocked ? `This account is blocked from this feature for ${formatWait(result.retryAfterMs)}.` : message(result);
      throw new TRPCError({
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
