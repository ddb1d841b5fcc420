// createRateLimiter(): validates input, applies admins' controls, turns a call's cost into one
// cost per limit, asks the store (or, while it is unavailable, the plan's failure policy) and
// shapes the answer. All the counting is in the store (src/model.ts, src/lua); what answers when
// it fails is in src/failure.
import { randomUUID } from 'node:crypto';

import { ANOMALY_DETECTOR, type Anomaly, anomalyFields, type AnomalyRules, compileRules, type CompiledRules, HOUR_MS } from './anomaly';
import { recordAudit } from './audit';
import { createControlCache, liveControl, updateControl } from './controls';
import { costRules, unitAmounts } from './costs';
import { createDenyCache } from './deny-cache';
import { type Duration, toMs } from './duration';
import { RateLimitConfigError, RateLimitInputError, RateLimitStoreError } from './errors';
import { type DecisionEvent, jsonLogger, type Logger, type RateLimitEventListener, type StoreErrorEvent } from './events';
import { createBreakers } from './failure/breaker';
import { createClockSync } from './failure/clock';
import { within } from './failure/deadline';
import { type Answer, createFallback, type FallbackBudget } from './failure/fallback';
import type { EvaluateOutput, Mode, SettleStatus } from './model';
import { type CompiledLimit, type CompiledPlan, compilePolicy, type CompiledPolicy, DEFAULT_PLANS, type FailureMode, type PlanConfig } from './policy';
import { refusal, shape } from './result';
import { createMemoryStore } from './stores/memory';
import type { Store } from './stores/types';
import { createUsageRecorder } from './usage';
import { createWaitLines, type WaitOptions } from './wait';
import { type SharedBudgetsConfig, withSharedBudgets } from './shared';
import { withLivePlans } from './live-plans';

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
   * and none succeeded for `downAfter`. Timeouts on a connected store that still answers now and
   * then are slowness, not an outage.
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
   * in full; usage spread thin over many identifiers may be undercounted.
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
  livePlans?: boolean | { refresh?: Duration };
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

/** One limit's state after a call. */
export interface LimitStatus {
  /** The limit's name in the plan. */
  readonly name: string;
  /** What it counts: `requests`, `tokens`, ... */
  readonly unit: string;
  /** Its size. */
  readonly limit: number;
  /** Whether this call's cost fitted in it. */
  readonly allowed: boolean;
  /** Units left now (after this call, when it was charged). */
  readonly remaining: number;
  /**
   * Epoch ms (store clock) when capacity returns: when denied, the first moment the same call
   * would fit; otherwise when `remaining` next grows by one (now, when nothing is used).
   */
  readonly resetAt: number;
  /** ms until this call would fit in this limit: 0 when it fits. */
  readonly retryAfterMs: number;
}

/** The answer to a check or a peek. */
export interface RateLimitResult {
  /** Every limit had room (and, for `check`, every one was charged). */
  readonly allowed: boolean;
  /** The plan applied: the one asked for, or an admin's override. */
  readonly plan: string;
  /** The deciding limit's size: the one that denied (the longest wait), else the one closest to empty. */
  readonly limit: number;
  /** The deciding limit's units left. */
  readonly remaining: number;
  /** The deciding limit's `resetAt`; when denied, the moment the call would fit in every limit. */
  readonly resetAt: number;
  /** ms until the call would fit in every limit: 0 when allowed. */
  readonly retryAfterMs: number;
  /**
   * What denied: a limit's name (the one with the longest wait), `'blocked'` (an admin's block),
   * or `'store-unavailable'` (the store is down and the plan fails closed, or a call failed on a
   * store not known to be down: see `whenStoreFails`). Undefined when allowed.
   */
  readonly deniedBy: string | undefined;
  /** Every limit of the plan, in plan order (then its shared budgets' limits, when they were checked). */
  readonly limits: readonly LimitStatus[];
  /**
   * Set when a shared budget denied (its limit, or the identifier's fair share of it, named by
   * `deniedBy`): a platform-wide limit, not the identifier's plan.
   */
  readonly sharedBudget?: string | undefined;
  /** The time the decision was made at (store clock, epoch ms). */
  readonly now: number;
  /** Set when the store was unavailable and the plan's failure policy answered instead. */
  readonly degraded: FailureMode | undefined;
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
   * Forgets an identifier's usage: one limit (by name), or everything, reservations included.
   * Every instance forgets its cached denials of it. Throws `RateLimitStoreError` if the store fails.
   */
  reset(identifier: string, options?: { limit?: string }): Promise<void>;
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
  /** The clock's now, or undefined for the store's clock. */
  now(): number | undefined;
}

const STORE_ERROR_LOG_INTERVAL_MS = 10_000;

function positiveCount(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RateLimitConfigError(`${what}: ${value} must be a whole number >= 1`);
  return value;
}

function definedOnly<T>(record: Readonly<Partial<Record<string, T>>> | undefined): Record<string, T> {
  return Object.fromEntries(Object.entries(record ?? {}).filter((e): e is [string, T] => e[1] !== undefined));
}

/** Creates a rate limiter. Throws {@link RateLimitConfigError} when the configuration is invalid. */
export function createRateLimiter<P extends string = keyof typeof DEFAULT_PLANS>(options: RateLimiterOptions<P> = {}): RateLimiter<P> {
  // live plans and shared budgets compose limiters of this kind (src/live-plans.ts, src/shared.ts)
  if (options.livePlans) {
    const refresh = (options.livePlans === true ? undefined : options.livePlans.refresh) ?? '30 s';
    return withLivePlans({ ...options, plans: options.plans ?? (DEFAULT_PLANS as Record<P, PlanConfig>), store: options.store ?? createMemoryStore() }, refresh, createRateLimiter);
  }
  if (options.shared && Object.keys(options.shared).length > 0) {
    return withSharedBudgets({ ...options, plans: options.plans ?? (DEFAULT_PLANS as Record<P, PlanConfig>), shared: undefined }, options.shared, createRateLimiter);
  }
  const policy = compilePolicy(options.plans ?? DEFAULT_PLANS);
  const ownsStore = options.store === undefined;
  const store = options.store ?? createMemoryStore();
  const reservationTtlMs = toMs(options.reservationTtl ?? '10 m', 'reservationTtl');
  const stateTtlMs = Math.max(policy.maxTtlMs, reservationTtlMs);
  const maxLength = options.maxIdentifierLength ?? 256;
  if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
    throw new RateLimitConfigError(`maxIdentifierLength: ${maxLength} must be a whole number >= 1`);
  }
  const clock = options.clock ?? 'store';
  if (typeof clock !== 'function' && clock !== 'store' && clock !== 'local') {
    throw new RateLimitConfigError(`clock: '${String(clock)}' must be 'store', 'local' or a function returning epoch ms`);
  }
  const defaultMode = options.whenStoreFails ?? 'fallback';
  if (!['open', 'closed', 'fallback'].includes(defaultMode)) {
    throw new RateLimitConfigError(`whenStoreFails: '${String(defaultMode)}' must be 'open', 'closed' or 'fallback'`);
  }
  const retryAfterFailureMs = toMs(options.storeRetryAfter ?? '2 s', 'storeRetryAfter');
  const logger = options.logger === false ? undefined : (options.logger ?? jsonLogger);
  const allLimits = [...policy.limits.values()];
  const planNames = [...policy.plans.keys()].join(', ');
  const rules = costRules(policy);
  const onEvent = options.onEvent;

  const emit: RateLimitEventListener = (event) => {
    try {
      onEvent?.(event);
    } catch {
      // a listener must not break rate limiting
    }
  };

  const now = (): number | undefined => {
    if (clock === 'store') return undefined;
    const t = clock === 'local' ? Date.now() : clock();
    if (!Number.isFinite(t)) throw new RateLimitConfigError(`clock returned ${t}; it must return epoch milliseconds`);
    return Math.floor(t);
  };
  /** The deny cache and controls run on this process's time, or the test's clock. */
  const localNow = () => now() ?? Date.now();

  // store failures: reported, logged at a bounded rate, and remembered by a small breaker
  let lastErrorLog = 0;
  let suppressed = 0;
  function reportStoreError(operation: StoreErrorEvent['operation'], error: unknown, started: number): RateLimitStoreError {
    const wrapped =
      error instanceof RateLimitStoreError ? error : new RateLimitStoreError(`${store.kind} store ${operation} failed: ${(error as Error).message}`, { cause: error });
    emit({ type: 'store-error', operation, error: wrapped, durationMs: performance.now() - started });
    if (Date.now() - lastErrorLog >= STORE_ERROR_LOG_INTERVAL_MS) {
      logger?.error({ msg: 'rate limiter store call failed', store: store.kind, operation, error: wrapped.message, suppressed });
      lastErrorLog = Date.now();
      suppressed = 0;
    } else suppressed++;
    return wrapped;
  }

  const breakers = createBreakers({
    failures: positiveCount(options.breaker?.failures ?? 3, 'breaker.failures'),
    downAfterMs: toMs(options.breaker?.downAfter ?? '5 s', 'breaker.downAfter'),
    retryAfterMs: retryAfterFailureMs,
    connected: (shard) => store.connected?.(shard),
    onOpen(shard, reason) {
      emit({ type: 'failure-mode', active: true, mode: defaultMode, reason, shard });
      logger?.error({ msg: `rate limiter store unavailable: answering by each plan's policy (default '${defaultMode}')`, store: store.kind, shard, error: reason });
    },
    onClose(shard) {
      emit({ type: 'failure-mode', active: false, mode: defaultMode, reason: undefined, shard });
      logger?.warn({ msg: 'rate limiter store available again', store: store.kind, shard });
      if (!breakers.anyOpen()) fallback.recovered();
    },
  });
  let retireAt = 0;
  /** Now and then while a shard is down: forget shards that serve nothing any more (failed over). */
  function retireShards() {
    if (!store.shards || performance.now() < retireAt || !breakers.anyOpen()) return;
    retireAt = performance.now() + Math.min(retryAfterFailureMs, 1000);
    breakers.retire(store.shards());
  }
  /** Local ms when a shard's open breaker lets a probe through. */
  const retryAtLocal = (shard: string) => localNow() + Math.max(0, breakers.retryAt(shard) - performance.now());

  const denyCache = options.denyCache === false ? undefined : createDenyCache(options.denyCache?.maxEntries ?? 10_000);
  const anomalyOptions = options.anomalies === false ? undefined : options.anomalies;
  const rulesByPlan = new Map<string, CompiledRules>();
  if (anomalyOptions) {
    for (const plan of policy.plans.values()) {
      if (plan.anomalies === false) continue;
      const rules = compileRules(plan, anomalyOptions, plan.anomalies);
      if (rules.burst || rules.denialStorm || rules.costSpike) rulesByPlan.set(plan.name, rules);
    }
  }
  const controls =
    options.controls === false
      ? undefined
      : createControlCache({
          store,
          refreshMs: toMs(options.controls?.refresh ?? '30 s', 'controls.refresh'),
          onChange: (identifier) => denyCache?.drop(identifier),
          onError: (error) => reportStoreError('controls', error, performance.now()),
        });
  const usage =
    options.topConsumers === false
      ? undefined
      : createUsageRecorder(
          store,
          {
            flushMs: toMs(options.topConsumers?.flushInterval ?? '5 s', 'topConsumers.flushInterval'),
            perFlush: positiveCount(options.topConsumers?.perFlush ?? 100, 'topConsumers.perFlush'),
            boardSize: positiveCount(options.topConsumers?.boardSize ?? 1000, 'topConsumers.boardSize'),
          },
          (error) => reportStoreError('usage', error, performance.now()),
        );

  // what answers while a shard of the store is down: the in-memory limiter made on first need
  const fallbackBudget = options.fallbackBudget ?? 'shared';
  if (fallbackBudget !== 'shared' && fallbackBudget !== 'full') {
    throw new RateLimitConfigError(`fallbackBudget: '${String(fallbackBudget)}' must be 'shared' or 'full'`);
  }
  const fallbackPlans = { ...(options.plans ?? DEFAULT_PLANS), ...definedOnly(options.fallbackPlans) };
  const fallback = createFallback({
    budget: fallbackBudget,
    defaultMode,
    policy: compilePolicy(fallbackPlans),
    make: (memory) =>
      createRateLimiter<string>({
        plans: fallbackPlans,
        store: memory,
        clock: clock === 'store' ? 'local' : clock,
        reservationTtl: reservationTtlMs,
        maxIdentifierLength: maxLength,
        denyCache: false,
        controls: false,
        topConsumers: false,
        logger: false,
        fallbackBudget: 'full',
      }),
    now: () => localNow(),
    maxRemembered: 10_000,
    reservationTtlMs,
    stateTtlMs,
  });

  // presence and the store's clock: one heartbeat every `presence.refresh`, from the first call
  const presenceRefreshMs = toMs(options.presence?.refresh ?? '5 s', 'presence.refresh');
  const presenceWindowMs = toMs(options.presence?.window ?? '30 s', 'presence.window');
  const instanceId = randomUUID();
  const sync = clock === 'local' ? createClockSync() : undefined;
  // every instance counts itself, whatever its own budget: the others' shares depend on it
  const heartbeats = store.heartbeat?.bind(store);
  /** Set when the store refuses to tell its time: `'local'` then runs uncorrected. */
  let clockRefused = false;
  let closed = false;
  let beating: Promise<void> | undefined;
  let beatTimer: NodeJS.Timeout | undefined;
  function beat(): Promise<void> {
    const started = performance.now();
    return (beating ??= heartbeats!(instanceId, presenceWindowMs)
      .then(
        ({ instances, now: storeNow, at }) => {
          fallback.setInstances(instances);
          sync?.update({ now: storeNow, at });
        },
        (error: unknown) => {
          if (/NOPERM|unknown command/i.test((error as Error).message)) clockRefused = true;
          reportStoreError('heartbeat', error, started);
        },
      )
      .finally(() => (beating = undefined)));
  }
  function startHeartbeats() {
    if (!heartbeats || beatTimer || closed) return;
    beatTimer = setInterval(() => void beat(), presenceRefreshMs);
    beatTimer.unref();
    void beat();
  }

  /**
   * The time to stamp a call with: the configured clock; for `'local'`, corrected by the store's
   * clock, measured first (within the call's deadline) when not known. Throws rather than stamp
   * an unchecked local time.
   */
  async function stamp(deadline: number): Promise<number | undefined> {
    if (!sync || !heartbeats || clockRefused) return now();
    let t = sync.now();
    if (t === undefined) {
      await within(beat(), deadline);
      t = sync.now();
    }
    if (t === undefined && !clockRefused) throw new RateLimitStoreError(`${store.kind} store clock could not be read in time; not stamping with an unchecked local clock`);
    return t ?? now();
  }
  /** What every call of this limiter may take in all, store calls included. */
  const budgetMs = store.timeoutMs ?? 1000;

  function identify(identifier: unknown): string {
    if (typeof identifier !== 'string' || identifier.length === 0 || identifier.length > maxLength) {
      const got = typeof identifier === 'string' ? `a string of ${identifier.length} characters` : typeof identifier;
      throw new RateLimitInputError(
        'INVALID_IDENTIFIER',
        `identifier must be a non-empty string of at most ${maxLength} characters (got ${got}); pass the creator or user id as a string`,
      );
    }
    return identifier;
  }

  function planOf(plan: unknown): CompiledPlan {
    const compiled = typeof plan === 'string' ? policy.plans.get(plan) : undefined;
    if (!compiled) throw new RateLimitInputError('UNKNOWN_PLAN', `unknown plan '${String(plan)}'; the plans are: ${planNames}`);
    return compiled;
  }

  type Outcome = Answer;

  /** Asks the store, or (its shard down, or it failing) the failure policy. Bounded by one deadline. */
  async function run(mode: Mode, identifier: unknown, options: CheckOptions<P> | undefined): Promise<Outcome> {
    const started = performance.now();
    const deadline = started + budgetMs;
    const id = identify(identifier);
    let plan = planOf(options?.plan);
    retireShards();
    const shard = store.shardOf?.(id) ?? '';
    const loading = controls?.ready();
    // controls load within half the call's time, and not at all while the shard is known down
    if (loading && breakers.retryAt(shard) === 0) await within(loading, started + budgetMs / 2);
    const t = localNow();
    const control = liveControl(controls?.get(id), t);
    if (control?.block) return finish(mode, id, started, { result: refusal(plan, 'blocked', t, control.block.until), source: 'control' });
    if (control?.override) plan = policy.plans.get(control.override.plan) ?? plan;
    const costs = rules.perLimit(plan, options?.cost);
    if (mode !== 'peek') {
      const cached = denyCache?.get(plan.name, id, costs, t, rulesByPlan.has(plan.name));
      if (cached) return finish(mode, id, started, { result: cached, source: 'deny-cache' });
    }
    const ticket = breakers.enter(shard);
    if (!ticket) return finish(mode, id, started, await fallback.outage(mode, id, plan, options?.cost, retryAtLocal(shard)));
    startHeartbeats();
    const watched = mode === 'peek' ? undefined : rulesByPlan.get(plan.name);
    // what the call charges per unit: made once, for the cost-spike rule and the usage boards
    let amounts: Map<string, number> | undefined;
    const anomaly = watched && {
      rules: watched,
      cost: watched.costSpike ? ((amounts = unitAmounts(plan, costs)).get(watched.costSpike.unit) ?? 0) : 0,
      pendingDenied: denyCache?.take(plan.name, id) ?? 0,
    };
    let output: EvaluateOutput;
    try {
      const at = await stamp(deadline);
      output = await store.evaluate({ identifier: id, limits: plan.limits, costs, mode, now: at, reservationTtlMs, stateTtlMs, anomaly, deadline });
    } catch (error) {
      const down = breakers.failed(ticket, reportStoreError(mode, error, started).message);
      if (down) return finish(mode, id, started, await fallback.outage(mode, id, plan, options?.cost, retryAtLocal(shard)));
      // slow: it may have been applied; counted as charged by this instance's fallback
      if (mode !== 'peek') fallback.uncertain(plan, id, costs);
      return finish(mode, id, started, fallback.slow(plan));
    }
    breakers.succeeded(ticket);
    if (fallbackBudget === 'shared') fallback.remember(plan, id, output.limits);
    const result = shape(plan, output.limits, output.allowed, output.now);
    // reported after the answer, off the request path
    if (watched && output.anomalies.length > 0) raise(id, plan.name, watched, output.anomalies, output.now);
    if (!result.allowed && mode !== 'peek') denyCache?.set(plan.name, id, costs, result, t);
    let reservation: Reservation | undefined;
    if (result.allowed && mode !== 'peek') {
      amounts ??= unitAmounts(plan, costs);
      usage?.add(id, amounts, output.now);
      if (output.reservation) {
        reservation = { identifier: id, plan: plan.name, id: output.reservation.id, expiresAt: output.reservation.expiresAt, cost: Object.fromEntries(amounts) };
      }
    }
    return finish(mode, id, started, { result, reservation, source: store.kind });
  }

  /**
   * Reports anomalies at once (event, log line, callback), then writes them (stream; a block when
   * the rule says so) in the background: never on the request path.
   */
  function raise(id: string, plan: string, rules: CompiledRules, fired: EvaluateOutput['anomalies'], at: number) {
    const started = performance.now();
    const anomalies = fired.map((f): Anomaly => {
      const rule = f.rule === 'burst' ? rules.burst : f.rule === 'denial-storm' ? rules.denialStorm : rules.costSpike;
      const blockMs = rule?.blockMs ?? 0;
      const windowMs = rule && 'windowMs' in rule ? rule.windowMs : HOUR_MS;
      const anomaly: Anomaly = {
        rule: f.rule,
        identifier: id,
        plan,
        value: f.value,
        threshold: f.threshold,
        windowMs,
        at,
        blockedUntil: blockMs > 0 ? localNow() + blockMs : undefined,
      };
      emit({ type: 'anomaly', anomaly });
      logger?.warn({ msg: `rate limiter anomaly: ${anomaly.rule}`, ...anomaly });
      try {
        anomalyOptions?.onAnomaly?.(anomaly);
      } catch {
        // a callback must not break rate limiting
      }
      return anomaly;
    });
    void (async () => {
      for (const anomaly of anomalies) {
        const fields = anomalyFields(anomaly);
        try {
          await store.append('anomalies', fields, { maxLength: anomalyOptions?.streamLength ?? 10_000 });
          await store.append('anomalies', fields, { maxLength: 100, identifier: id, ttlMs: 90 * 86_400_000 });
          if (anomaly.blockedUntil !== undefined) {
            const reason = `anomaly: ${anomaly.rule}`;
            await updateControl(store, id, { block: { until: anomaly.blockedUntil, by: ANOMALY_DETECTOR, reason, at: Date.now() } });
            await recordAudit(store, { actor: ANOMALY_DETECTOR, action: 'block', identifier: id, details: { until: anomaly.blockedUntil, reason } }, 10_000);
          }
        } catch (error) {
          reportStoreError('anomaly', error, started);
        }
      }
    })();
  }

  function finish(mode: Mode, id: string, started: number, outcome: Outcome): Outcome {
    if (onEvent) {
      const { result } = outcome;
      const event: DecisionEvent = {
        type: 'decision',
        operation: mode,
        identifier: id,
        plan: result.plan,
        allowed: result.allowed,
        deniedBy: result.deniedBy,
        durationMs: performance.now() - started,
        source: outcome.source,
      };
      emit(event);
    }
    return outcome;
  }

  async function settleWith(reservation: Reservation, costs: (plan: CompiledPlan) => Map<string, number>, refund: boolean, cost?: Cost): Promise<SettleResult> {
    const r = reservation as Partial<Reservation> | undefined;
    if (typeof r?.id !== 'string' || typeof r.identifier !== 'string' || typeof r.plan !== 'string' || typeof r.expiresAt !== 'number') {
      throw new RateLimitInputError('INVALID_RESERVATION', 'settle and refund take the reservation object that reserve() returned');
    }
    const started = performance.now();
    const plan = planOf(r.plan);
    const byName = costs(plan);
    const identifier = identify(r.identifier);
    denyCache?.drop(identifier);
    if (r.id.startsWith('f:')) {
      const inner = { ...(r as Reservation), id: r.id.slice(2) };
      return fallback.settle(inner, cost, refund);
    }
    const ticket = breakers.enter(store.shardOf?.(identifier) ?? '');
    if (!ticket) return { status: 'store-unavailable' };
    const deadline = started + budgetMs;
    try {
      const request = { identifier, reservationId: r.id, expiresAt: r.expiresAt, limits: plan.limits, costs: byName, now: await stamp(deadline), stateTtlMs, deadline };
      const { status, now: at } = await store.settle(request);
      breakers.succeeded(ticket);
      if (status === 'settled' && usage) {
        // boards count what was really used: add the difference from the estimate
        const reserved = r.cost ?? {};
        const delta = new Map<string, number>();
        for (const l of plan.limits) {
          const next = byName.get(l.name);
          if (next !== undefined) delta.set(l.unit, next - (reserved[l.unit] ?? 0));
        }
        usage.add(identifier, delta, at);
      }
      return { status };
    } catch (error) {
      breakers.failed(ticket, reportStoreError('settle', error, started).message);
      return { status: 'store-unavailable' };
    }
  }

  const waitLines = createWaitLines();
  const limiter: RateLimiter<P> & { [internals]: LimiterInternals } = {
    plans: policy.plans as ReadonlyMap<P, CompiledPlan>,
    store,
    // a denial that fits within `options.wait` waits in line (src/wait.ts)
    check(identifier, options) {
      return waitLines.run(`${String(identifier)}\0${String(options?.plan)}`, options, async () => (await run('check', identifier, options)).result);
    },
    async peek(identifier, options) {
      return (await run('peek', identifier, options)).result;
    },
    reserve(identifier, options) {
      return waitLines.run(`${String(identifier)}\0${String(options?.plan)}`, options, async (): Promise<ReserveResult> => {
        const { result, reservation } = await run('reserve', identifier, options);
        return { ...result, reservation };
      });
    },
    settle(reservation, options) {
      return settleWith(
        reservation,
        (plan) => {
          const byUnit = rules.byUnit(plan, options?.cost, 0);
          return new Map(plan.limits.filter((l) => byUnit.has(l.unit)).map((l) => [l.name, byUnit.get(l.unit)!]));
        },
        false,
        options?.cost,
      );
    },
    refund(reservation) {
      return settleWith(reservation, (plan) => new Map(plan.limits.map((l) => [l.name, 0])), true);
    },
    async reset(identifier, options) {
      const id = identify(identifier);
      let limits: CompiledLimit[] = allLimits;
      if (options?.limit !== undefined) {
        const limit = policy.limits.get(options.limit);
        if (!limit) {
          throw new RateLimitInputError('UNKNOWN_LIMIT', `unknown limit '${options.limit}'; the limits are: ${[...policy.limits.keys()].join(', ')}`);
        }
        limits = [limit];
      }
      const started = performance.now();
      denyCache?.drop(id);
      try {
        await store.reset({ identifier: id, limits, all: options?.limit === undefined, stateTtlMs });
        await store.announce(id);
      } catch (error) {
        throw reportStoreError('reset', error, started);
      }
    },
    async close() {
      closed = true;
      clearInterval(beatTimer);
      // the other instances' shares grow at once; best effort (the record expires anyway)
      if (beatTimer) await store.leave?.(instanceId).catch(() => undefined);
      await usage?.close();
      await controls?.close();
      await fallback.close();
      if (ownsStore) await store.close?.();
    },
    [internals]: {
      policy,
      now,
      async peekRaw(identifier, planName) {
        const plan = planOf(planName);
        const id = identify(identifier);
        const costs = rules.perLimit(plan, undefined);
        const output = await store.evaluate({ identifier: id, limits: plan.limits, costs, mode: 'peek', now: now(), reservationTtlMs, stateTtlMs });
        return shape(plan, output.limits, output.allowed, output.now);
      },
    },
  };
  return limiter;
}
