// createRateLimiter(): validates input, turns a call's cost into one cost per limit, asks the
// store, and shapes the answer. All the counting is in the store (src/model.ts, src/lua).
import { type Duration, toMs } from './duration';
import { RateLimitConfigError, RateLimitInputError, RateLimitStoreError } from './errors';
import type { RateLimitEventListener } from './events';
import type { LimitOutcome, Mode, SettleStatus } from './model';
import { type CompiledLimit, type CompiledPlan, compilePolicy, DEFAULT_PLANS, type PlansConfig, REQUESTS } from './policy';
import { createMemoryStore } from './stores/memory';
import type { Store } from './stores/types';

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
  plans?: Readonly<Record<P, PlansConfig[string]>>;
  /**
   * Where usage is kept: `createRedisStore()` from `@airl/ratelimit/redis` to share limits across
   * instances, or `createMemoryStore()` for one process.
   * @default createMemoryStore()
   */
  store?: Store;
  /**
   * Where `now` comes from.
   * - `'store'`: the store's clock: Redis `TIME`, so every app instance agrees even when their
   *   own clocks do not. For the memory store, this process's clock.
   * - `'local'`: this process's `Date.now()`. For Redis deployments that reject `TIME` in
   *   scripts (reported of ElastiCache Serverless); keep app clocks in sync (NTP / chrony).
   * - a function returning epoch ms: tests control time without sleeping.
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
   * Called with every decision and every store failure (see {@link RateLimitEvent}): wire it to
   * logs or metrics. Keep it quick; errors it throws are ignored.
   */
  onEvent?: RateLimitEventListener;
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
  readonly plan: string;
  /** The deciding limit's size: the one that denied (the longest wait), else the one closest to empty. */
  readonly limit: number;
  /** The deciding limit's units left. */
  readonly remaining: number;
  /** The deciding limit's `resetAt`; when denied, the moment the call would fit in every limit. */
  readonly resetAt: number;
  /** ms until the call would fit in every limit: 0 when allowed. */
  readonly retryAfterMs: number;
  /** Name of the limit that denied (the one with the longest wait); undefined when allowed. */
  readonly deniedBy: string | undefined;
  /** Every limit of the plan, in plan order. */
  readonly limits: readonly LimitStatus[];
  /** The time the decision was made at (store clock, epoch ms). */
  readonly now: number;
}

/** A charge made before the real cost is known; settle it with the real cost, or refund it. */
export interface Reservation {
  readonly identifier: string;
  readonly plan: string;
  readonly id: string;
  /** After this (store clock), the reservation can no longer be settled; its cost stays charged. */
  readonly expiresAt: number;
}

export interface ReserveResult extends RateLimitResult {
  /** Present when allowed. */
  readonly reservation: Reservation | undefined;
}

export interface SettleResult {
  /**
   * `settled`; `expired` (its time was up: the estimate stays charged); `unknown` (already
   * settled, reset, or expired and cleared).
   */
  readonly status: SettleStatus;
}

export interface CheckOptions<P extends string = string> {
  /** The identifier's plan. */
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
  /** Forgets an identifier's usage: one limit (by name), or everything, reservations included. */
  reset(identifier: string, options?: { limit?: string }): Promise<void>;
  /** The plans, as configured. */
  readonly plans: ReadonlyMap<P, CompiledPlan>;
  readonly store: Store;
}

/** Creates a rate limiter. Throws {@link RateLimitConfigError} when the configuration is invalid. */
export function createRateLimiter<P extends string = keyof typeof DEFAULT_PLANS>(options: RateLimiterOptions<P> = {}): RateLimiter<P> {
  const policy = compilePolicy(options.plans ?? DEFAULT_PLANS);
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
  const allLimits = [...policy.limits.values()];
  const onEvent = options.onEvent;
  const emit: RateLimitEventListener = (event) => {
    try {
      onEvent?.(event);
    } catch {
      // a listener must not break rate limiting
    }
  };

  /** Runs a store call, reporting a failure before rethrowing it. */
  async function guarded<T>(operation: 'check' | 'peek' | 'reserve' | 'settle' | 'reset', started: number, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const wrapped = error instanceof RateLimitStoreError ? error : new RateLimitStoreError(`${store.kind} store ${operation} failed: ${(error as Error).message}`, { cause: error });
      emit({ type: 'store-error', operation, error: wrapped, durationMs: performance.now() - started });
      throw wrapped;
    }
  }
  const planNames = [...policy.plans.keys()].join(', ');
  const unitNames = [...policy.units].join(', ');

  const now = (): number | undefined => {
    if (clock === 'store') return undefined;
    const t = clock === 'local' ? Date.now() : clock();
    if (!Number.isFinite(t)) throw new RateLimitConfigError(`clock returned ${t}; it must return epoch milliseconds`);
    return Math.floor(t);
  };

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

  function amount(value: unknown, unit: string, min: 0 | 1): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new RateLimitInputError(
        'INVALID_COST',
        `cost${unit ? ` of ${unit}` : ''} must be a whole number ${min === 1 ? '> 0' : '>= 0'} (got ${String(value)})`,
      );
    }
    return value;
  }

  /** The plan's cost unit for a plain number, or an error when the number is ambiguous. */
  function costUnit(plan: CompiledPlan): string {
    const others = plan.units.filter((u) => u !== REQUESTS);
    if (others.length > 1) {
      throw new RateLimitInputError(
        'INVALID_COST',
        `plan '${plan.name}' counts ${others.join(' and ')}; pass cost as an object, for example { ${others.map((u) => `${u}: 1`).join(', ')} }`,
      );
    }
    return others[0] ?? REQUESTS;
  }

  /** Cost by unit; units left out are `keep` (undefined: the check defaults). */
  function unitCosts(plan: CompiledPlan, cost: unknown, min: 0 | 1): Map<string, number> {
    const byUnit = new Map<string, number>();
    if (typeof cost === 'number' || typeof cost !== 'object' || cost === null) {
      byUnit.set(costUnit(plan), amount(cost, '', min));
      return byUnit;
    }
    const entries = Object.entries(cost as Record<string, unknown>);
    if (entries.length === 0) throw new RateLimitInputError('INVALID_COST', 'cost is an empty object; name at least one unit, for example { tokens: 1200 }');
    for (const [unit, value] of entries) {
      if (!policy.units.has(unit)) {
        throw new RateLimitInputError('INVALID_COST', `no plan counts '${unit}'; the units are: ${unitNames}`);
      }
      byUnit.set(unit, amount(value, unit, min));
    }
    return byUnit;
  }

  /** One cost per limit of the plan, for check, peek and reserve. */
  function costsFor(plan: CompiledPlan, cost: unknown): number[] {
    // no cost: one request, or 1 of the cost unit on a plan that does not count requests
    const byUnit = cost !== undefined ? unitCosts(plan, cost, 1) : plan.units.includes(REQUESTS) ? new Map<string, number>() : new Map([[costUnit(plan), 1]]);
    const costs = plan.limits.map((l) => byUnit.get(l.unit) ?? (l.unit === REQUESTS ? 1 : 0));
    plan.limits.forEach((l, i) => {
      if (costs[i]! > l.limit) {
        throw new RateLimitInputError(
          'COST_OVER_LIMIT',
          `a cost of ${costs[i]} ${l.unit} can never fit limit '${l.name}' of plan '${plan.name}' (${l.limit} ${l.unit}); split the call or raise the limit`,
        );
      }
    });
    if (costs.every((c) => c === 0)) {
      throw new RateLimitInputError('INVALID_COST', `the cost charges none of plan '${plan.name}' units (${plan.units.join(', ')})`);
    }
    return costs;
  }

  function shape(plan: CompiledPlan, outcomes: readonly LimitOutcome[], allowed: boolean, at: number): RateLimitResult {
    const limits = plan.limits.map((l, i): LimitStatus => {
      const o = outcomes[i]!;
      return {
        name: l.name,
        unit: l.unit,
        limit: l.limit,
        allowed: o.fits,
        remaining: o.remaining,
        resetAt: o.resetAt,
        retryAfterMs: o.fits ? 0 : Math.max(0, o.resetAt - at),
      };
    });
    let decider = limits[0]!;
    for (const l of limits) {
      if (allowed ? l.remaining / l.limit < decider.remaining / decider.limit : l.retryAfterMs > decider.retryAfterMs) decider = l;
    }
    return {
      allowed,
      plan: plan.name,
      limit: decider.limit,
      remaining: decider.remaining,
      resetAt: allowed ? decider.resetAt : at + decider.retryAfterMs,
      retryAfterMs: allowed ? 0 : decider.retryAfterMs,
      deniedBy: allowed ? undefined : decider.name,
      limits,
      now: at,
    };
  }

  async function run(mode: Mode, identifier: unknown, options: CheckOptions<P> | undefined) {
    const started = performance.now();
    const id = identify(identifier);
    const plan = planOf(options?.plan);
    const costs = costsFor(plan, options?.cost);
    const output = await guarded(mode, started, () =>
      store.evaluate({ identifier: id, limits: plan.limits, costs, mode, now: now(), reservationTtlMs, stateTtlMs }),
    );
    const result = shape(plan, output.limits, output.allowed, output.now);
    if (onEvent) {
      emit({ type: 'decision', operation: mode, identifier: id, plan: plan.name, allowed: result.allowed, deniedBy: result.deniedBy, durationMs: performance.now() - started, store: store.kind });
    }
    return { plan, output, result };
  }

  async function settleWith(reservation: Reservation, costs: (plan: CompiledPlan) => Map<string, number>): Promise<SettleResult> {
    const r = reservation as Partial<Reservation> | undefined;
    if (typeof r?.id !== 'string' || typeof r.identifier !== 'string' || typeof r.plan !== 'string') {
      throw new RateLimitInputError('INVALID_RESERVATION', 'settle and refund take the reservation object that reserve() returned');
    }
    const started = performance.now();
    const plan = planOf(r.plan);
    const byName = costs(plan);
    const identifier = identify(r.identifier);
    const reservationId = r.id;
    const expiresAt = Number(r.expiresAt);
    const { status } = await guarded('settle', started, () =>
      store.settle({ identifier, reservationId, expiresAt, limits: plan.limits, costs: byName, now: now(), stateTtlMs }),
    );
    return { status };
  }

  return {
    plans: policy.plans as ReadonlyMap<P, CompiledPlan>,
    store,
    async check(identifier, options) {
      return (await run('check', identifier, options)).result;
    },
    async peek(identifier, options) {
      return (await run('peek', identifier, options)).result;
    },
    async reserve(identifier, options) {
      const { plan, output, result } = await run('reserve', identifier, options);
      const reservation = output.reservation && { identifier, plan: plan.name, id: output.reservation.id, expiresAt: output.reservation.expiresAt };
      return { ...result, reservation };
    },
    settle(reservation, options) {
      return settleWith(reservation, (plan) => {
        const byUnit = unitCosts(plan, options?.cost, 0);
        return new Map(plan.limits.filter((l) => byUnit.has(l.unit)).map((l) => [l.name, byUnit.get(l.unit)!]));
      });
    },
    refund(reservation) {
      return settleWith(reservation, (plan) => new Map(plan.limits.map((l) => [l.name, 0])));
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
      await guarded('reset', started, () => store.reset({ identifier: id, limits, all: options?.limit === undefined, stateTtlMs }));
    },
  };
}
