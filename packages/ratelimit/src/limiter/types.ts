// The limiter's public types: its options, what a call takes and what it answers. Types only
// (and the internals symbol), so the parts of the limiter and the failure policies can share them.
import type { Anomaly } from '../anomaly/records';
import type { AnomalyRules } from '../anomaly/rules';
import type { Duration } from '../duration';
import type { Logger, RateLimitEventListener } from '../events';
import type { SettleStatus } from '../model';
import type { CompiledPlan, CompiledPolicy, FailureMode, PlanConfig } from '../policy';
import type { RateLimitResult } from '../result';
import type { SharedBudgetsConfig } from '../shared-types';
import type { Store } from '../stores/types';
import type { WaitOptions } from '../wait';

export type { LimitStatus, RateLimitResult } from '../result';

/**
 * How the in-memory fallback budgets each instance during an outage:
 * - `'shared'`: each instance starts from what it last knew of the identifier and gets
 *   `floor(remaining / N)` of each limit, N being the live instances it last counted;
 * - `'full'`: each instance gets every limit in full, from zero (N instances: up to N x the limit).
 */
export type FallbackBudget = 'shared' | 'full';

/**
 * What a call costs. A number is charged in the plan's cost unit (its one unit other than
 * `requests`, or `requests` when it counts nothing else), and every `requests` limit is charged 1.
 * An object names units: `{ tokens: 1200 }`; `requests` defaults to 1, other units not named cost 0
 * (but a limit with nothing left still denies the call). Each amount is a whole number > 0.
 * No cost means one request, or 1 of the cost unit on a plan that does not count requests.
 */
export type Cost = number | Readonly<Record<string, number>>;

/** Where `now` comes from. */
export type Clock = 'store' | 'local' | (() => number);

export interface RateLimiterOptions<P extends string = string> {
  /**
   * Plans by name.
   * @default DEFAULT_PLANS (starter 50, pro 100, business 500 requests per sliding hour)
   */
  plans?: Readonly<Record<P, PlanConfig>>;
  /**
   * Where usage is kept: `createRedisStore()` from `@airl/ratelimit/redis` to share limits across
   * instances, or `createMemoryStore()` for one process. Several limiters may share a store.
   * @default createMemoryStore()
   */
  store?: Store;
  /**
   * Where `now` comes from.
   * - `'store'`: the store's clock: Redis `TIME`, so every app instance agrees even when their
   *   own clocks do not. For the memory store, this process's clock.
   * - `'local'`: this process's `Date.now()`, corrected by its offset to the store's clock
   *   whenever the store can tell it (Redis `TIME` as a command, at the first call and with every
   *   `presence` refresh): for Redis deployments that reject `TIME` in scripts (reported of
   *   ElastiCache Serverless). When the offset is unknown (or the local clock stepped since it was
   *   measured) a call measures it first, within its deadline, and fails rather than stamp an
   *   unchecked time.
   * - a function returning epoch ms: tests control time without sleeping. Used as is.
   * @default 'store'
   */
  clock?: Clock;
  /**
   * How long a reservation waits for `settle()`. A reservation never settled keeps its estimated
   * cost charged (the work may have been done) and is forgotten after this time.
   * @default '10 m'
   */
  reservationTtl?: Duration;
  /**
   * Longest identifier accepted, in characters.
   * @default 256
   */
  maxIdentifierLength?: number;
  /**
   * What a call gets while the store is down (its shard's breaker is open, see `breaker`); a
   * plan's own `whenStoreFails` wins. See {@link FailureMode}. A call that fails while the store
   * is not known to be down (slow, or a single failure) never gets a fresh budget: `'open'` plans
   * allow it, `'closed'` and `'fallback'` plans deny it (`deniedBy: 'store-unavailable'`, retry in 1 s).
   * @default 'fallback'
   */
  whenStoreFails?: FailureMode;
  /**
   * The in-memory fallback's limits, by plan, before `fallbackBudget` shares them. Plans not
   * listed keep their own limits.
   */
  fallbackPlans?: Readonly<Partial<Record<P, PlanConfig>>>;
  /**
   * How the in-memory fallback budgets this instance during an outage. `'shared'`: it starts from
   * what this instance last knew of the identifier and gets `floor(remaining / N)` of each limit,
   * N being the live instances counted by `presence`, so that N instances together admit at most
   * about the limit. `'full'`: every limit in full, from zero, on every instance (with N
   * instances, up to N x the limit). See the package README, "When Redis fails".
   * @default 'shared'
   */
  fallbackBudget?: FallbackBudget;
  /**
   * When a shard of the store counts as down: at once when a call fails while the client reports
   * the connection to it down; with the connection up, when its last `failures` calls all failed
   * and were sent over at least `downAfter`, the first that long before the last (a burst that
   * times out together, or time without calls, is not an outage). Timeouts on a connected store
   * that still answers now and then are slowness, not an outage.
   * @default { failures: 3, downAfter: '5 s' }
   */
  breaker?: { failures?: number; downAfter?: Duration };
  /**
   * While a shard is down, its calls skip the store (answered by the failure policy at once) for
   * this long; then one call at a time tries it again. Keeps an outage from costing every call
   * the full timeout.
   * @default '2 s'
   */
  storeRetryAfter?: Duration;
  /**
   * Every instance marks itself alive in the store (`<prefix>:presence`) every `refresh`, and
   * counts the instances that did so within `window`: the `'shared'` fallback splits limits
   * between them. The same call reads the store's clock for `clock: 'local'`. Stores that cannot
   * (memory) do without.
   * @default { refresh: '5 s', window: '30 s' }
   */
  presence?: { refresh?: Duration; window?: Duration };
  /**
   * Remembers denials until their retry time, so the same call denied again costs no store call.
   * Admin actions (reset, override, block) clear it on every instance. Trade-off: a refund on
   * another instance does not, so such a call may stay denied a little longer than needed.
   * @default { maxEntries: 10_000 }
   */
  denyCache?: false | { maxEntries?: number };
  /**
   * Applies admins' plan overrides and blocks (see `createRateLimitAdmin`), kept current on every
   * instance through the store's announcements and reloaded every `refresh`.
   * @default { refresh: '30 s' }
   */
  controls?: false | { refresh?: Duration };
  /**
   * Keeps per-hour and per-day usage boards for top-consumer views: each instance adds up what it
   * charges and every `flushInterval` sends the `perFlush` largest amounts of each board (never a
   * write per call); each board keeps its `boardSize` largest entries. Heavy consumers are counted
   * in full; usage spread thin over many identifiers may be undercounted. Memory stays bounded:
   * past twice max(10,000, 100 x `perFlush`) identifiers of a unit in one interval, only the
   * largest half stay.
   * @default { flushInterval: '5 s', perFlush: 100, boardSize: 1000 }
   */
  topConsumers?: false | { flushInterval?: Duration; perFlush?: number; boardSize?: number };
  /**
   * Detects anomalies with counters kept by the check itself (no extra store call): a burst of
   * calls, a storm of denials, a cost spike over the identifier's own baseline. Each fires once
   * per episode: written to the `anomalies` stream (the admin app reads it), logged, passed to
   * `onAnomaly` and as an `anomaly` event, and blocks for a while when a rule says `block`.
   * `{}` turns the default rules on; plans can tune or turn off theirs (`PlanConfig.anomalies`).
   * Costs one more hash field read and written per check (the counters, packed) and the rules'
   * arithmetic, and for plans with only sliding-log limits a state hash they otherwise do without.
   * @default off
   */
  anomalies?: false | (AnomalyRules & {
    /** Called with each anomaly (for alerting). Keep it quick; errors it throws are ignored. */
    onAnomaly?: (anomaly: Anomaly) => void;
    /**
     * Entries the anomaly stream keeps.
     * @default 10_000
     */
    streamLength?: number;
  });
  /**
   * Shared budgets, such as the AI provider's own limits, charged with every call of their plans
   * on top of the plan's limits, all or nothing, with a fair share per identifier; see
   * `SharedBudgetConfig` and the package README, "Shared budgets".
   * @default none
   */
  shared?: SharedBudgetsConfig;
  /**
   * Lets admins change plan sizes while the apps run (`createPlanEditor`): the stored sizes apply
   * over these plans on every instance at once (announced like controls, reloaded every
   * `refresh`); restoring the defaults brings back these plans. Usage is kept. Needs the memory
   * or Redis store.
   * @default false
   */
  livePlans?:
    | boolean
    | {
        /**
         * How often each instance reads the stored sizes again (besides the announcements);
         * also how often it retries while the store cannot be read.
         * @default '30 s'
         */
        refresh?: Duration;
      };
  /**
   * Called with every decision, store failure, change of failure mode and anomaly (see
   * `RateLimitEvent`): wire it to metrics. Keep it quick; errors it throws are ignored.
   */
  onEvent?: RateLimitEventListener;
  /**
   * Structured log lines for store failures (at most one line per 10 s, with a count of the
   * others) and every change of failure mode. `false` silences them.
   * @default JSON lines on stderr
   */
  logger?: Logger | false;
}

/** A charge made before the real cost is known; settle it with the real cost, or refund it. */
export interface Reservation {
  readonly identifier: string;
  readonly plan: string;
  readonly id: string;
  /** After this (store clock), the reservation can no longer be settled; its cost stays charged. */
  readonly expiresAt: number;
  /** What was reserved, by unit. */
  readonly cost: Readonly<Record<string, number>>;
}

export interface ReserveResult extends RateLimitResult {
  /** Present when allowed. */
  readonly reservation: Reservation | undefined;
}

export interface SettleResult {
  /**
   * `settled`; `expired` (its time was up: the estimate stays charged); `unknown` (already
   * settled, reset, or expired and cleared); `store-unavailable` (the store failed: the estimate
   * stays charged, and the failure was reported).
   */
  readonly status: SettleStatus | 'store-unavailable';
}

/** `wait` and `signal` (see `WaitOptions`) apply to `check` and `reserve`; `peek` ignores them. */
export interface CheckOptions<P extends string = string> extends WaitOptions {
  /** The identifier's plan (an admin's override, if any, applies instead). */
  plan: P;
  /**
   * What the call costs; see {@link Cost}.
   * @default 1
   */
  cost?: Cost;
}

export interface RateLimiter<P extends string = string> {
  /** Checks every limit of the plan and charges them all only if all have room. Atomic. */
  check(identifier: string, options: CheckOptions<P>): Promise<RateLimitResult>;
  /** Like `check`, but charges nothing: where the identifier stands, and whether such a call would pass. */
  peek(identifier: string, options: CheckOptions<P>): Promise<RateLimitResult>;
  /** Charges an estimated cost (like `check`) and returns a reservation to settle with the real cost. */
  reserve(identifier: string, options: CheckOptions<P>): Promise<ReserveResult>;
  /**
   * Replaces a reservation's estimate with the real cost, up or down. Units not named in `cost`
   * keep what was reserved. More than the limit is charged anyway: the work was done.
   */
  settle(reservation: Reservation, options: { cost: Cost }): Promise<SettleResult>;
  /** Gives a reservation's whole cost back (the call failed). */
  refund(reservation: Reservation): Promise<SettleResult>;
  /**
   * Forgets an identifier's usage: the named limits (one name or a list, in one atomic step), or
   * with no `limit` everything, reservations included. Every instance forgets its cached denials
   * of it. Throws `RateLimitInputError` for an unknown name or an empty list, `RateLimitStoreError`
   * if the store fails.
   * @example limiter.reset('creator-1', { limit: ['burst', 'hourly'] })
   */
  reset(identifier: string, options?: { limit?: string | readonly string[] }): Promise<void>;
  /** The plans, as configured. */
  readonly plans: ReadonlyMap<P, CompiledPlan>;
  readonly store: Store;
  /** Writes pending usage and stops timers and listeners. Closes the store only if the limiter made it. */
  close(): Promise<void>;
}

/** What the admin module needs and callers do not. */
export const internals = Symbol('rate limiter internals');

export interface LimiterInternals {
  readonly policy: CompiledPolicy;
  /** A peek on a plan, ignoring controls, deny cache and failure policy (admin views). */
  peekRaw(identifier: string, plan: string): Promise<RateLimitResult>;
  /** Recorded usage of each limit of a plan (plan order), past the limit too: one read-only peek (src/limiter/recorded.ts). */
  recorded(identifier: string, plan: string): Promise<readonly number[]>;
  /** The clock's now, or undefined for the store's clock. */
  now(): number | undefined;
  /**
   * Each shared budget's status (a peek on its limits, charging nothing) and its recorded usage
   * (`used`, limit order, past the limit too: see `recorded`); none without budgets.
   */
  sharedBudgets?(): Promise<{ name: string; maxShare: number; status: RateLimitResult; used: readonly number[] }[]>;
}
