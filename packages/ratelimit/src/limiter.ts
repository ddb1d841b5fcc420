// createRateLimiter(): builds a limiter from its parts and wires its methods to them. A call's
// way through is in src/limiter/decide.ts: check the input, apply admins' controls, answer from
// the deny cache, ask the store (or, while it is unavailable, the plan's failure policy), shape
// the answer. The counting is in the store (src/model.ts, src/lua); what answers when it fails
// is in src/failure. See ARCHITECTURE.md.
import { createControlCache } from './controls';
import { costRules } from './costs';
import { createDenyCache } from './deny-cache';
import { createBreakers } from './failure/breaker';
import { type Answer, createFallback } from './failure/fallback';
import { compilePolicy, DEFAULT_PLANS, type PlanConfig } from './policy';
import { shape } from './result';
import { requireConcerns } from './stores/capabilities';
import { createMemoryStore } from './stores/memory';
import { createUsageRecorder } from './usage';
import { type AnomalyOptions, createAnomalyRaiser, rulesByPlan } from './limiter/anomalies';
import type { LimiterContext } from './limiter/context';
import { createDecide } from './limiter/decide';
import { createHitReporter } from './limiter/hits';
import { createInputChecks } from './limiter/input';
import { parseOptions } from './limiter/options';
import { borrowPresence, createLocalClock, createPresence, outerPresence, type Presence } from './limiter/presence';
import { createReporter } from './limiter/report';
import { usedOf, widened } from './limiter/recorded';
import { createSettle } from './limiter/settle';
import { internals, type LimiterInternals, type RateLimiter, type RateLimiterOptions, type ReserveResult } from './limiter/types';
import { withLivePlans } from './live-plans';
import { withSharedBudgets } from './shared';
import { createWaitLines } from './wait';

export * from './limiter/types';

const resultOf = (answer: Answer) => answer.result;

function definedOnly<T>(record: Readonly<Partial<Record<string, T>>> | undefined): Record<string, T> {
  return Object.fromEntries(Object.entries(record ?? {}).filter((e): e is [string, T] => e[1] !== undefined));
}

/** Creates a rate limiter. Throws {@link RateLimitConfigError} when the configuration is invalid. */
export function createRateLimiter<P extends string = keyof typeof DEFAULT_PLANS>(options: RateLimiterOptions<P> = {}): RateLimiter<P> {
  // live plans and shared budgets compose limiters of this kind (src/live-plans.ts, src/shared.ts)
  if (options.livePlans) {
    const refresh = (options.livePlans === true ? undefined : options.livePlans.refresh) ?? '30 s';
    const store = options.store ?? createMemoryStore();
    const limiter = withLivePlans({ ...options, plans: options.plans ?? (DEFAULT_PLANS as Record<P, PlanConfig>), store }, refresh, createRateLimiter);
    if (options.store) return limiter;
    // the memory store made here is this limiter's to close
    const close = limiter.close.bind(limiter);
    return Object.assign(limiter, { close: () => close().then(() => store.close?.()) });
  }
  if (options.shared && Object.keys(options.shared).length > 0) {
    return withSharedBudgets({ ...options, plans: options.plans ?? (DEFAULT_PLANS as Record<P, PlanConfig>), shared: undefined }, options.shared, createRateLimiter);
  }
  const plans: Readonly<Record<string, PlanConfig>> = options.plans ?? DEFAULT_PLANS;
  const policy = compilePolicy(plans);
  const settings = parseOptions(options);
  const ownsStore = options.store === undefined;
  const store = options.store ?? createMemoryStore();
  // a JavaScript caller's partial store fails here, naming what it lacks
  requireConcerns(store, ['limiting', 'controls', 'usage', 'streams'], 'createRateLimiter');
  const stateTtlMs = Math.max(policy.maxTtlMs, settings.reservationTtlMs);
  const report = createReporter(store.kind, options.onEvent, options.logger);
  const clock = createLocalClock(settings.clock);
  const defaultMode = settings.whenStoreFails;

  // a shard of the store counts as down after failures; the breaker then skips it for a while
  const breakers = createBreakers({
    failures: settings.breaker.failures,
    downAfterMs: settings.breaker.downAfterMs,
    retryAfterMs: settings.storeRetryAfterMs,
    connected: (shard) => store.connected?.(shard),
    onOpen(shard, reason) {
      report.emit({ type: 'failure-mode', active: true, mode: defaultMode, reason, shard });
      report.logger?.error({ msg: `rate limiter store unavailable: answering by each plan's policy (default '${defaultMode}')`, store: store.kind, shard, error: reason });
    },
    onClose(shard) {
      report.emit({ type: 'failure-mode', active: false, mode: defaultMode, reason: undefined, shard });
      report.logger?.warn({ msg: 'rate limiter store available again', store: store.kind, shard });
      if (!breakers.anyOpen()) fallback.recovered();
    },
  });
  let retireAt = 0;
  function retireShards() {
    // on every call: the clock is read only while some shard is down
    if (!store.shards || !breakers.anyOpen() || performance.now() < retireAt) return;
    retireAt = performance.now() + Math.min(settings.storeRetryAfterMs, 1000);
    breakers.retire(store.shards());
  }

  // what answers while a shard of the store is down: the in-memory limiter made on first need
  const fallbackPlans = { ...plans, ...definedOnly(options.fallbackPlans) };
  const fallback = createFallback({
    budget: settings.fallbackBudget,
    defaultMode,
    policy: compilePolicy(fallbackPlans),
    make: (memory) =>
      createRateLimiter<string>({
        plans: fallbackPlans,
        store: memory,
        clock: settings.clock === 'store' ? 'local' : settings.clock,
        reservationTtl: settings.reservationTtlMs,
        maxIdentifierLength: settings.maxIdentifierLength,
        denyCache: false,
        controls: false,
        topConsumers: false,
        logger: false,
        fallbackBudget: 'full',
      }),
    now: () => clock.localNow(),
    maxRemembered: 10_000,
    reservationTtlMs: settings.reservationTtlMs,
    stateTtlMs,
  });

  // deny-cache hits reach the anomaly counters on a timer, through reportHits (made below)
  const denyCache =
    settings.denyCache === false
      ? undefined
      : createDenyCache({ maxEntries: settings.denyCache.maxEntries, now: clock.localNow, report: (...hit) => reportHits(...hit) });
  const anomalyOptions: AnomalyOptions | undefined = options.anomalies === false ? undefined : options.anomalies;
  const { controls: controlSettings, topConsumers } = settings;
  const outer = (options as { [outerPresence]?: Presence })[outerPresence];
  const ctx: LimiterContext = {
    store,
    policy,
    settings,
    stateTtlMs,
    budgetMs: store.timeoutMs ?? 1000,
    input: createInputChecks(policy, settings.maxIdentifierLength),
    costs: costRules(policy),
    report,
    clock,
    // a shared budget's limiter is part of this instance: it counts once, under the outer limiter's id
    presence: outer
      ? borrowPresence(outer, (instances) => fallback.setInstances(instances))
      : createPresence({
      store,
      clock: settings.clock,
      local: clock,
      refreshMs: settings.presence.refreshMs,
      windowMs: settings.presence.windowMs,
      report,
      onInstances: (instances) => fallback.setInstances(instances),
    }),
    breakers,
    fallback,
    denyCache,
    anomalyRules: rulesByPlan(policy, anomalyOptions),
    anomalies: createAnomalyRaiser(store, anomalyOptions, report, clock.localNow),
    controls:
      controlSettings === false
        ? undefined
        : createControlCache({
            store,
            refreshMs: controlSettings.refreshMs,
            onChange: (identifier) => denyCache?.drop(identifier),
            onError: (error) => report.storeError('controls', error, performance.now()),
          }),
    usage:
      topConsumers === false
        ? undefined
        : createUsageRecorder(store, topConsumers, (error) => report.storeError('usage', error, performance.now())),
    retireShards,
    retryAtLocal: (shard) => clock.localNow() + Math.max(0, breakers.retryAt(shard) - performance.now()),
  };
  const reportHits = createHitReporter(ctx);
  const decide = createDecide(ctx);
  const settleWith = createSettle(ctx);

  const waitLines = createWaitLines();
  const limiter: RateLimiter<P> & { [internals]: LimiterInternals; [outerPresence]: Presence } = {
    plans: policy.plans as RateLimiter<P>['plans'],
    store,
    // a denial that fits within `options.wait` waits in line (src/wait.ts); without it, nothing
    // is made for the line (its key, the retry) on the main path
    check(identifier, options) {
      if (options?.wait === undefined) return decide('check', identifier, options).then(resultOf);
      return waitLines.run(`${String(identifier)}\0${String(options.plan)}`, options, () => decide('check', identifier, options).then(resultOf));
    },
    peek(identifier, options) {
      return decide('peek', identifier, options).then(resultOf);
    },
    reserve(identifier, options) {
      return waitLines.run(`${String(identifier)}\0${String(options?.plan)}`, options, async (): Promise<ReserveResult> => {
        const { result, reservation } = await decide('reserve', identifier, options);
        return { ...result, reservation };
      });
    },
    settle(reservation, options) {
      const costs = (plan: Parameters<typeof ctx.costs.byUnit>[0]) => {
        const byUnit = ctx.costs.byUnit(plan, options?.cost, 0);
        return new Map(plan.limits.filter((l) => byUnit.has(l.unit)).map((l) => [l.name, byUnit.get(l.unit)!]));
      };
      return settleWith(reservation, costs, false, options?.cost);
    },
    refund(reservation) {
      return settleWith(reservation, (plan) => new Map(plan.limits.map((l) => [l.name, 0])), true);
    },
    async reset(identifier, options) {
      const id = ctx.input.identifier(identifier);
      const limits = ctx.input.resetLimits(options?.limit);
      const started = performance.now();
      denyCache?.drop(id);
      try {
        await store.reset({ identifier: id, limits, all: options?.limit === undefined, stateTtlMs });
        await store.announce(id);
      } catch (error) {
        throw report.storeError('reset', error, started);
      }
    },
    async close() {
      // waiting calls end first (rejected, nothing charged): none may reach a closed store
      await waitLines.close();
      // hits answered locally reach the anomaly counters before the store goes
      await denyCache?.close();
      // the other instances' shares grow at once when this one leaves the presence record
      await ctx.presence.close();
      await ctx.anomalies.flush();
      await ctx.usage?.close();
      await ctx.controls?.close();
      await fallback.close();
      if (ownsStore) await store.close?.();
    },
    [outerPresence]: ctx.presence,
    [internals]: {
      policy,
      now: clock.now,
      async peekRaw(identifier, planName) {
        const plan = ctx.input.plan(planName);
        const id = ctx.input.identifier(identifier);
        const costs = ctx.costs.perLimit(plan, undefined);
        const output = await store.evaluate({ identifier: id, limits: plan.limits, costs, mode: 'peek', now: clock.now(), reservationTtlMs: settings.reservationTtlMs, stateTtlMs });
        return shape(plan, output.limits, output.allowed, output.now);
      },
      async recorded(identifier, planName) {
        const plan = ctx.input.plan(planName);
        const id = ctx.input.identifier(identifier);
        const limits = plan.limits.map(widened);
        const costs = ctx.costs.perLimit({ ...plan, limits }, undefined);
        const output = await store.evaluate({ identifier: id, limits, costs, mode: 'peek', now: clock.now(), reservationTtlMs: settings.reservationTtlMs, stateTtlMs });
        return usedOf(limits, output.limits.map((l) => l.remaining));
      },
    },
  };
  return limiter;
}
