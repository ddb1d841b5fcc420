// Shared budgets: the AI provider's own limits (requests and tokens per minute), shared by every
// creator and instance, charged together with each creator's plan. Composed from two limiters on
// the same store: one for the budgets (an identifier per budget), one for the creators, whose
// plans gain a per-creator share of each budget (the fair share, checked in the creator's own
// script). The budget is reserved first, the creator charged second, the reservation given back
// when the creator is denied: see the package README, "Shared budgets", for the bounds.
import { costRules } from './costs';
import type { RateLimitEvent } from './events';
import { callDeadline, within } from './failure/deadline';
import type { CheckOptions, Cost, LimiterInternals, RateLimiter, RateLimiterOptions, RateLimitResult, Reservation, ReserveResult, SettleResult } from './limiter/types';
import { internals } from './limiter/types';
import { outerPresence, type Presence } from './limiter/presence';
import { type CompiledPlan, compilePolicy, type PlanConfig, REQUESTS } from './policy';
import { planShares } from './shared-config';
import type { SharedBudgetsConfig } from './shared-types';
import { createWaitLines } from './wait';

export { planShares } from './shared-config';
export type { SharedBudgetConfig, SharedBudgetsConfig } from './shared-types';

/** The identifier a budget is counted under: reserved, never a creator's. */
export const sharedIdentifier = (budget: string) => `~shared~${budget}`;

/** A reservation that also holds its shared budgets' reservations. */
interface SharedReservation extends Reservation {
  readonly shared?: readonly Reservation[];
}

interface Budget {
  readonly name: string;
  readonly plan: CompiledPlan;
  readonly limiter: RateLimiter;
  readonly identifier: string;
}

/**
 * A limiter whose plans are also charged against shared budgets. `make` is createRateLimiter
 * (passed in to keep the module graph one-way).
 */
export function withSharedBudgets<P extends string>(options: RateLimiterOptions<P> & { plans: Readonly<Record<P, PlanConfig>> }, shared: SharedBudgetsConfig, make: <Q extends string>(o: RateLimiterOptions<Q>) => RateLimiter<Q>): RateLimiter<P> {
  const { plans, budgets: configs } = planShares(options.plans, shared);
  const creators = make<P>({ ...options, plans: plans as Record<P, PlanConfig> });
  /** What a call may take in all, as each limiter's own calls (the store's timeout). */
  const timeoutMs = creators.store.timeoutMs ?? 1000;
  const policy = compilePolicy(plans);
  const rules = costRules(policy);
  const budgets: Budget[] = [...configs].map(([name, config]) => {
    const limiter = make<string>({
      ...options,
      plans: { [name]: { limits: config.limits } },
      store: creators.store,
      fallbackPlans: {},
      // one decision event per call (the creator's step reports it); the budget's store errors
      // and failure modes still reach the listener (on a cluster its shard is another one)
      ...(options.onEvent && { onEvent: (e: RateLimitEvent) => e.type !== 'decision' && options.onEvent!(e) }),
      // budgets are the platform's: no admin controls, anomalies or top-consumer boards of their own
      controls: false,
      anomalies: false,
      topConsumers: false,
      // one instance, one presence: the budgets beat under the creators' limiter's id
      [outerPresence]: (creators as unknown as { [outerPresence]: Presence })[outerPresence],
    } as RateLimiterOptions<string>);
    return { name, plan: limiter.plans.get(name)!, limiter, identifier: sharedIdentifier(name) };
  });
  const byPlan = new Map<string, Budget[]>([...policy.plans.keys()].map((p) => [p, budgets.filter((b) => configs.get(b.name)!.plans.has(p))]));
  // what clients see: each plan's limits, its budgets' after them
  const exposed = new Map<P, CompiledPlan>(
    [...creators.plans].map(([name, plan]) => [name, { ...plan, limits: [...plan.limits, ...(byPlan.get(name) ?? []).flatMap((b) => b.plan.limits)] }]),
  );

  /**
   * What a call costs the budget, in its units: a request is a request whoever makes it.
   * Undefined: nothing. For a settle, only the units named, zeros included.
   */
  function budgetCost(budget: Budget, plan: CompiledPlan, cost: Cost | undefined, settling = false): Cost | undefined {
    const units = cost === undefined ? undefined : rules.byUnit(plan, cost, settling ? 0 : 1);
    const out: Record<string, number> = {};
    for (const unit of budget.plan.units) {
      if (settling) {
        if (units?.has(unit)) out[unit] = units.get(unit)!;
        continue;
      }
      const amount = unit === REQUESTS ? (units?.get(REQUESTS) ?? 1) : (units?.get(unit) ?? (cost === undefined && !plan.units.includes(REQUESTS) && plan.units[0] === unit ? 1 : 0));
      if (amount > 0) out[unit] = amount;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  const giveBack = (held: readonly Reservation[]) => Promise.all(held.map((r) => budgetOf(r).limiter.refund(r)));

  /** A budget's denial, told as the plan's: the budget's limits, `sharedBudget` naming it. */
  const budgetDenial = (budget: Budget, result: RateLimitResult, plan: string): RateLimitResult => ({ ...result, plan, sharedBudget: budget.name });

  const shareOf = (deniedBy: string | undefined) => budgets.find((b) => b.plan.limits.some((l) => `${l.name}-share` === deniedBy))?.name;

  // a budget that denied an amount of a unit is known full for it until its retry time: a call
  // needing as much or more of that unit is then denied without reserving (and giving back) the
  // creator first, so it costs no creator round trip and never reaches the creator's anomaly
  // counters. Sound for every algorithm: what does not fit cannot fit with a larger amount.
  const localNow = typeof options.clock === 'function' ? options.clock : Date.now;
  const exhausted = new Map<string, { result: RateLimitResult; until: number; unit: string; amount: number }>();
  const knownFull = (budget: Budget, cost: Cost) => {
    const known = exhausted.get(budget.name);
    if (!known) return undefined;
    if (known.until <= localNow()) {
      exhausted.delete(budget.name);
      return undefined;
    }
    return ((cost as Readonly<Record<string, number>>)[known.unit] ?? 0) >= known.amount ? known : undefined;
  };

  async function charge(mode: 'check' | 'reserve', identifier: string, options: CheckOptions<P>): Promise<ReserveResult> {
    const plan = policy.plans.get(options.plan);
    const mine = (plan && byPlan.get(plan.name)) ?? [];
    // one deadline for the whole call: the creator's charge, the budgets' and any give-back
    const deadline = Math.min(performance.now() + timeoutMs, (options as { [callDeadline]?: number })[callDeadline] ?? Infinity);
    const inner = { plan: options.plan, ...(options.cost !== undefined && { cost: options.cost }), [callDeadline]: deadline } as CheckOptions<P>;
    if (mine.length === 0) return mode === 'check' ? { ...(await creators.check(identifier, inner)), reservation: undefined } : creators.reserve(identifier, inner);
    // bad input is refused before anything is charged
    const charged = mine.map((budget) => ({ budget, cost: budgetCost(budget, plan!, options.cost) })).filter((c): c is { budget: Budget; cost: Cost } => c.cost !== undefined);
    for (const { budget, cost } of charged) {
      const known = knownFull(budget, cost);
      if (known) return { ...budgetDenial(budget, known.result, options.plan), retryAfterMs: known.until - localNow(), reservation: undefined };
    }

    // step 1: the creator's own limits and fair shares, reserved so that they can be given back
    const own = await creators.reserve(identifier, inner);
    if (!own.allowed || !own.reservation) {
      const share = shareOf(own.deniedBy);
      return share ? { ...own, sharedBudget: share } : own;
    }
    // step 2: the budgets; the last one charged for good in check mode, so a budget's admissions are final
    const held: Reservation[] = [];
    const results: RateLimitResult[] = [];
    // waited for within the call's deadline; past it, finished off the request path
    const giveAllBack = () => within(background(Promise.all([creators.refund(own.reservation!), giveBack(held)])), deadline);
    for (const [i, { budget, cost }] of charged.entries()) {
      let got: ReserveResult;
      try {
        const budgetOptions = { plan: budget.name, cost, [callDeadline]: deadline };
        got = mode === 'check' && i === charged.length - 1 ? { ...(await budget.limiter.check(budget.identifier, budgetOptions)), reservation: undefined } : await budget.limiter.reserve(budget.identifier, budgetOptions);
      } catch (error) {
        await giveAllBack();
        throw error;
      }
      if (!got.allowed) {
        await giveAllBack();
        const unit = got.limits.find((l) => l.name === got.deniedBy)?.unit;
        const amount = unit === undefined ? undefined : (cost as Readonly<Record<string, number>>)[unit];
        if (got.degraded === undefined && got.retryAfterMs > 0 && amount !== undefined) {
          exhausted.set(budget.name, { result: got, until: localNow() + got.retryAfterMs, unit: unit!, amount });
        }
        return { ...budgetDenial(budget, got, options.plan), reservation: undefined };
      }
      if (got.reservation) held.push(got.reservation);
      results.push(got);
    }
    const limits = [...own.limits, ...results.flatMap((r) => r.limits)];
    if (mode === 'check') {
      // the charges stand; settling at the estimate only clears the reservation records (off the request path)
      const ownReservation = own.reservation;
      void background(creators.settle(ownReservation, { cost: ownReservation.cost }));
      for (const r of held) void background(budgetOf(r).limiter.settle(r, { cost: r.cost }));
      const { reservation, ...result } = own;
      void reservation;
      return { ...result, limits, reservation: undefined };
    }
    return { ...own, limits, reservation: { ...own.reservation, shared: held } as SharedReservation };
  }

  /** Work off the request path; close() waits for it before the limiters close. */
  const pending = new Set<Promise<unknown>>();
  function background(work: Promise<unknown>): Promise<unknown> {
    const tracked = work.catch(() => undefined);
    pending.add(tracked);
    void tracked.finally(() => pending.delete(tracked));
    return tracked;
  }

  const budgetOf = (r: Reservation) => budgets.find((b) => b.name === r.plan)!;

  /** Settles (or refunds) the creator's part and each budget's; the creator's status answers. */
  async function settleAll(reservation: Reservation, cost: Cost | undefined): Promise<SettleResult> {
    const shared = (reservation as SharedReservation).shared ?? [];
    const own: Reservation = { identifier: reservation.identifier, plan: reservation.plan, id: reservation.id, expiresAt: reservation.expiresAt, cost: reservation.cost };
    const plan = policy.plans.get(reservation.plan);
    // room may come back: what this instance knew of full budgets is stale
    exhausted.clear();
    const [mine] = await Promise.all([
      cost === undefined ? creators.refund(own) : creators.settle(own, { cost }),
      // a budget that cannot be settled keeps its estimate charged, like any reservation
      ...shared.map((r) => {
        const budget = budgets.find((b) => b.name === r.plan);
        if (!budget || !plan) return undefined;
        if (cost === undefined) return budget.limiter.refund(r);
        return budget.limiter.settle(r, { cost: budgetCost(budget, plan, cost, true) ?? r.cost });
      }),
    ]);
    return mine;
  }

  const waitLines = createWaitLines();
  const limiter: RateLimiter<P> & { [internals]: LimiterInternals } = {
    plans: exposed,
    store: creators.store,
    check(identifier, options) {
      return waitLines.run(`${String(identifier)}\0${String(options?.plan)}`, options, async () => {
        const { reservation, ...result } = await charge('check', identifier, options);
        void reservation;
        return result;
      });
    },
    reserve(identifier, options) {
      return waitLines.run(`${String(identifier)}\0${String(options?.plan)}`, options, () => charge('reserve', identifier, options));
    },
    async peek(identifier, options) {
      const plan = policy.plans.get(options.plan);
      const mine = (plan && byPlan.get(plan.name)) ?? [];
      const deadline = Math.min(performance.now() + timeoutMs, (options as { [callDeadline]?: number })[callDeadline] ?? Infinity);
      const inner = { plan: options.plan, ...(options.cost !== undefined && { cost: options.cost }), [callDeadline]: deadline } as CheckOptions<P>;
      const own = await creators.peek(identifier, inner);
      const theirs = await Promise.all(
        mine.map(async (b) => {
          const cost = budgetCost(b, plan!, options.cost);
          return { budget: b, result: cost === undefined ? undefined : await b.limiter.peek(b.identifier, { plan: b.name, cost, [callDeadline]: deadline } as CheckOptions) };
        }),
      );
      const limits = [...own.limits, ...theirs.flatMap((t) => t.result?.limits ?? [])];
      const denied = theirs.find((t) => t.result && !t.result.allowed);
      if (own.allowed && denied) return { ...budgetDenial(denied.budget, denied.result!, options.plan), limits };
      const share = own.allowed ? undefined : shareOf(own.deniedBy);
      return { ...own, limits, ...(share && { sharedBudget: share }) };
    },
    settle(reservation, options) {
      return settleAll(reservation, options.cost);
    },
    refund(reservation) {
      return settleAll(reservation, undefined);
    },
    reset(identifier, options) {
      return creators.reset(identifier, options);
    },
    async close() {
      await waitLines.close();
      await Promise.allSettled([...pending]);
      await Promise.all([creators.close(), ...budgets.map((b) => b.limiter.close())]);
    },
    [internals]: {
      ...(creators as unknown as { [internals]: LimiterInternals })[internals],
      sharedBudgets: () =>
        Promise.all(
          budgets.map(async (b) => {
            const budget = (b.limiter as unknown as { [internals]: LimiterInternals })[internals];
            const [status, used] = await Promise.all([budget.peekRaw(b.identifier, b.name), budget.recorded(b.identifier, b.name)]);
            return { name: b.name, maxShare: configs.get(b.name)!.maxShare, status, used };
          }),
        ),
    },
  };
  return limiter;
}

