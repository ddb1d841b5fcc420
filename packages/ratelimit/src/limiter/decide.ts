// The main path of check, peek and reserve, as named steps: check the input, apply admins'
// controls, answer from the deny cache, ask the store (or the failure policy when it cannot
// answer), then record what the answer means (fallback memory, anomalies, deny cache, usage).
import type { CompiledRules } from '../anomaly/rules';
import { liveControl } from '../controls';
import { unitAmounts } from '../costs';
import type { DecisionEvent } from '../events';
import { callDeadline, within } from '../failure/deadline';
import type { Answer } from '../failure/fallback';
import type { EvaluateOutput, Mode } from '../model';
import type { CompiledPlan } from '../policy';
import { refusal, shape } from '../result';
import type { LimiterContext } from './context';
import type { CheckOptions, Reservation } from './types';

/** One call on its way through the steps. */
interface Call {
  readonly mode: Mode;
  readonly id: string;
  /** The plan asked for, then an admin's override, if any. */
  plan: CompiledPlan;
  readonly cost: CheckOptions['cost'];
  readonly shard: string;
  readonly started: number;
  readonly deadline: number;
  /** Local time once controls are applied: the deny cache's clock. */
  localAt: number;
  /** One cost per limit of `plan`. */
  costs: readonly number[];
}

/** What an async function returns when its body throws `error`. */
// eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever was thrown, as an async function would
const rejected = (error: unknown): Promise<never> => Promise.reject(error);

/** A call's costs before they are known. */
const NO_COSTS: readonly number[] = [];

export function createDecide(ctx: LimiterContext) {
  const { store, breakers, fallback, denyCache, report } = ctx;

  /**
   * Asks the store, or (its shard down, or it failing) the failure policy. Bounded by one deadline.
   * Not async: a call answered without waiting (controls loaded, as after the first call) goes
   * through one promise of its own, the store's; bad input still rejects, never throws.
   */
  function decide(mode: Mode, identifier: unknown, options: CheckOptions | undefined): Promise<Answer> {
    let call: Call;
    let loading: Promise<void> | undefined;
    try {
      call = begin(mode, identifier, options);
      // controls load within half the call's time, and not at all while the shard is known down
      loading = ctx.controls?.ready();
      if (loading && breakers.retryAt(call.shard) !== 0) loading = undefined;
    } catch (error) {
      return rejected(error);
    }
    if (loading) return within(loading, Math.min(call.started + ctx.budgetMs / 2, call.deadline)).then(() => decideNow(call));
    return decideNow(call);
  }

  /** decide() once the controls are loaded (or could not be in time). */
  function decideNow(call: Call): Promise<Answer> {
    let early: Answer | undefined;
    try {
      early = applyControls(call) ?? fromDenyCache(call);
    } catch (error) {
      return rejected(error);
    }
    if (early) return Promise.resolve(finish(call, early));
    const answer = askStore(call);
    // a step (and a promise) more only for listeners
    return report.listening ? answer.then((a) => finish(call, a)) : answer;
  }

  /** Checks the input; the call's deadline starts now (or is the composed call's, when sooner). */
  function begin(mode: Mode, identifier: unknown, options: CheckOptions | undefined): Call {
    const started = performance.now();
    const outer = (options as { [callDeadline]?: number } | undefined)?.[callDeadline] ?? Infinity;
    const id = ctx.input.identifier(identifier);
    const plan = ctx.input.plan(options?.plan);
    ctx.retireShards();
    const shard = store.shardOf?.(id) ?? '';
    return { mode, id, plan, cost: options?.cost, shard, started, deadline: Math.min(started + ctx.budgetMs, outer), localAt: 0, costs: NO_COSTS };
  }

  /** An admin's block answers at once; an override changes the plan. */
  function applyControls(call: Call): Answer | undefined {
    call.localAt = ctx.clock.localNow();
    const control = ctx.controls && liveControl(ctx.controls.get(call.id), call.localAt);
    if (control?.block) return { result: refusal(call.plan, 'blocked', call.localAt, control.block.until), source: 'control' };
    if (control?.override) call.plan = ctx.policy.plans.get(control.override.plan) ?? call.plan;
    call.costs = ctx.costs.perLimit(call.plan, call.cost);
    return undefined;
  }

  /** The same call denied before, until its retry time: no store call. */
  function fromDenyCache(call: Call): Answer | undefined {
    if (call.mode === 'peek') return undefined;
    const cached = denyCache?.get(call.plan.name, call.id, call.costs, call.localAt, ctx.anomalyRules.has(call.plan.name));
    return cached && { result: cached, source: 'deny-cache' };
  }

  /** The store's answer; the failure policy's while its shard is down, or when it fails. */
  async function askStore(call: Call): Promise<Answer> {
    const { mode, id, plan, costs } = call;
    const ticket = breakers.enter(call.shard);
    if (!ticket) return fallback.outage(mode, id, plan, call.cost, ctx.retryAtLocal(call.shard));
    ctx.presence.start();
    const watched = mode === 'peek' ? undefined : ctx.anomalyRules.get(plan.name);
    // what the call charges per unit: made once, for the cost-spike rule and the usage boards
    let amounts: ReadonlyMap<string, number> | undefined;
    const anomaly = watched && {
      rules: watched,
      cost: watched.costSpike ? ((amounts = unitAmounts(plan, costs)).get(watched.costSpike.unit) ?? 0) : 0,
      pendingDenied: denyCache?.take(plan.name, id) ?? 0,
    };
    let output: EvaluateOutput;
    try {
      const stamped = ctx.presence.stamp(call.deadline);
      // awaited only when it is a promise: awaiting a number still costs the call a turn
      const now = typeof stamped === 'object' ? await stamped : stamped;
      const { reservationTtlMs } = ctx.settings;
      output = await store.evaluate({ identifier: id, limits: plan.limits, costs, mode, now, reservationTtlMs, stateTtlMs: ctx.stateTtlMs, anomaly, deadline: call.deadline });
    } catch (error) {
      const down = breakers.failed(ticket, report.storeError(mode, error, call.started).message);
      if (down) return fallback.outage(mode, id, plan, call.cost, ctx.retryAtLocal(call.shard));
      // slow: it may have been applied; counted as charged by this instance's fallback
      if (mode !== 'peek') fallback.uncertain(plan, id, costs);
      return fallback.slow(plan);
    }
    breakers.succeeded(ticket);
    return conclude(call, output, watched, amounts);
  }

  /** Shapes the store's answer and records what it means. */
  function conclude(call: Call, output: EvaluateOutput, watched: CompiledRules | undefined, amounts: ReadonlyMap<string, number> | undefined): Answer {
    const { mode, id, plan, costs } = call;
    if (ctx.settings.fallbackBudget === 'shared') fallback.remember(plan, id, output.limits);
    const result = shape(plan, output.limits, output.allowed, output.now);
    // reported after the answer, off the request path (`watched` is undefined for a peek)
    if (watched && output.anomalies.length > 0) ctx.anomalies.raise(id, plan.name, watched, output.anomalies, output.now);
    if (!result.allowed && mode !== 'peek') denyCache?.set(plan.name, id, costs, result, call.localAt);
    let reservation: Reservation | undefined;
    if (result.allowed && mode !== 'peek') {
      amounts ??= unitAmounts(plan, costs);
      ctx.usage?.add(id, amounts, output.now);
      if (output.reservation) {
        reservation = { identifier: id, plan: plan.name, id: output.reservation.id, expiresAt: output.reservation.expiresAt, cost: Object.fromEntries(amounts) };
      }
    }
    return { result, reservation, source: store.kind };
  }

  /** Tells listeners what was decided. */
  function finish(call: Call, answer: Answer): Answer {
    if (report.listening) {
      const { result } = answer;
      const event: DecisionEvent = {
        type: 'decision',
        operation: call.mode,
        identifier: call.id,
        plan: result.plan,
        allowed: result.allowed,
        deniedBy: result.deniedBy,
        durationMs: performance.now() - call.started,
        source: answer.source,
      };
      report.emit(event);
    }
    return answer;
  }

  return decide;
}
