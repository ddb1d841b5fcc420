// The types of `@airl/ratelimit/trpc`: the procedure meta, the context the middleware adds, the
// options of rateLimited() and the error data a denied call carries to the client.
import type { TRPCMiddlewareFunction, TRPCProcedureBuilder, TRPCUnsetMarker } from '@trpc/server';

import type { Duration } from '../duration';
import type { Cost, RateLimiter, RateLimitResult, Reservation, SettleResult } from '../limiter';

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
