// Plans changed while the apps run: an admin sets new sizes for a plan's limits (and the shared
// budgets'); they are stored as data, validated like the code's plans, audited, and applied at
// once on every instance through the controls channel. The code's plans stay the defaults, and
// restoring them removes the stored sizes. Only sizes change (limit, maxShare): names, windows,
// algorithms and units stay the code's, so usage is kept and every instance counts the same way.
import { recordAudit } from './audit';
import { type Duration, toMs } from './duration';
import { RateLimitConfigError, RateLimitInputError } from './errors';
import { callDeadline, within } from './failure/deadline';
import type { LimiterInternals, RateLimiter, RateLimiterOptions } from './limiter/types';
import { internals } from './limiter/types';
import { applySizes, LIVE_PLANS, type LivePlans, parseStored, type PlanSizes } from './plan-sizes';
import type { PlanConfig } from './policy';
import type { SharedBudgetsConfig } from './shared-types';
import type { Store } from './stores/types';

export { applySizes, LIVE_PLANS, type LivePlans, type PlanSizes } from './plan-sizes';

interface LiveHandle {
  readonly store: Store;
  readonly plans: Readonly<Record<string, PlanConfig>>;
  readonly shared: SharedBudgetsConfig | undefined;
  /** The sizes in force on this instance (undefined: the code's). */
  current(): LivePlans | undefined;
  /** Reads the stored sizes and applies them here (the others hear the announcement). */
  refresh(): Promise<void>;
}
const live = Symbol('live plans');

/**
 * A limiter whose plan sizes follow what admins store (see {@link createPlanEditor}). `make` is
 * createRateLimiter. A change builds a new inner limiter on the same store (usage is kept: it
 * belongs to identifiers and limit names) and retires the old one.
 */
export function withLivePlans<P extends string>(
  options: RateLimiterOptions<P> & { plans: Readonly<Record<P, PlanConfig>>; store: Store },
  refresh: Duration,
  make: <Q extends string>(o: RateLimiterOptions<Q>) => RateLimiter<Q>,
): RateLimiter<P> {
  const { store } = options;
  if (!store.readDocument || !store.writeDocument) throw new RateLimitConfigError(`livePlans: the ${store.kind} store cannot keep live plans; use the memory or Redis store`);
  const refreshMs = toMs(refresh, 'livePlans.refresh');
  const build = (plans: Readonly<Record<string, PlanConfig>>, shared: SharedBudgetsConfig | undefined) =>
    make<P>({ ...options, livePlans: false, plans: plans, ...(shared && { shared }) });
  let inForce: LivePlans | undefined;
  let storedJson: string | undefined;
  let current = build(options.plans, options.shared);
  let closed = false;
  const retired = new Set<Promise<void>>();

  // one load at a time, in order: a slow read must not land after a newer one. Requests made
  // while one runs share a single load after it (which reads the newest document).
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  function reload(): Promise<void> {
    if (!running) return (running = load().finally(() => (running = undefined)));
    return (queued ??= running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return reload();
      }));
  }
  async function load() {
    const json = await store.readDocument!(LIVE_PLANS);
    if (json === storedJson || closed) return;
    storedJson = json;
    const stored = parseStored(json);
    let next: RateLimiter<P>;
    try {
      const applied = stored ? applySizes(options.plans, options.shared, stored.sizes) : { plans: options.plans, shared: options.shared };
      next = build(applied.plans, applied.shared);
    } catch {
      // sizes the code's plans no longer accept (the code changed since): the code's plans apply
      next = build(options.plans, options.shared);
      inForce = undefined;
      swap(next);
      return;
    }
    inForce = stored;
    swap(next);
  }
  function swap(next: RateLimiter<P>) {
    const old = current;
    current = next;
    // calls already in flight on the old one finish there; its timers stop (close waits for it)
    const retiring = old.close().catch(() => undefined);
    retired.add(retiring);
    void retiring.finally(() => retired.delete(retiring));
  }

  let loading: Promise<void> | undefined;
  let attempted = false;
  let stop: (() => Promise<void>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** Listens first (once), then loads: a change made in between is not missed. */
  async function listenAndReload() {
    stop ??= await store.listen((name) => {
      if (name === LIVE_PLANS || name === undefined) void reloadQuietly();
    });
    await reload();
  }
  const reloadQuietly = () => listenAndReload().catch(() => undefined);
  /**
   * The first call waits for one load attempt; later calls never wait for a load: while the
   * store is down they use the plans in force (the code's, or the last loaded), and the refresh
   * timer tries again in the background. Never rejects.
   */
  function ready(): Promise<void> | undefined {
    if (attempted || closed) return undefined;
    loading ??= listenAndReload()
      .catch(() => undefined)
      .finally(() => {
        attempted = true;
        if (closed) return;
        timer ??= setInterval(() => void reloadQuietly(), refreshMs);
        timer.unref();
      });
    return loading;
  }
  // one deadline per call: the first waits for the stored plans at most half of it (as for controls)
  const timeoutMs = store.timeoutMs ?? 1000;
  const first = async <T>(run: (deadline: number) => Promise<T>): Promise<T> => {
    const deadline = performance.now() + timeoutMs;
    const loading = ready();
    if (loading) await within(loading, performance.now() + timeoutMs / 2);
    return run(deadline);
  };
  const timed = <O>(o: O, deadline: number): O => ({ ...o, [callDeadline]: deadline });

  const handle: LiveHandle = {
    store,
    plans: options.plans,
    shared: options.shared,
    current: () => inForce,
    refresh: reload,
  };
  const inner = (): LimiterInternals => (current as unknown as { [internals]: LimiterInternals })[internals];
  const limiter: RateLimiter<P> & { [internals]: LimiterInternals; [live]: LiveHandle } = {
    get plans() {
      return current.plans;
    },
    store,
    check: (identifier, o) => first((deadline) => current.check(identifier, timed(o, deadline))),
    peek: (identifier, o) => first((deadline) => current.peek(identifier, timed(o, deadline))),
    reserve: (identifier, o) => first((deadline) => current.reserve(identifier, timed(o, deadline))),
    settle: (reservation, o) => first(() => current.settle(reservation, o)),
    refund: (reservation) => first(() => current.refund(reservation)),
    reset: (identifier, o) => first(() => current.reset(identifier, o)),
    async close() {
      closed = true;
      clearInterval(timer);
      await stop?.();
      await Promise.allSettled([current.close(), ...retired]);
    },
    [internals]: {
      get policy() {
        return inner().policy;
      },
      peekRaw: (identifier, plan) => inner().peekRaw(identifier, plan),
      recorded: (identifier, plan) => inner().recorded(identifier, plan),
      now: () => inner().now(),
      sharedBudgets: () => inner().sharedBudgets?.() ?? Promise.resolve([]),
    },
    [live]: handle,
  };
  return limiter;
}

/** Changes plan sizes for every instance, with an audit trail. */
export interface PlanEditor {
  /** The sizes in force (undefined: the code's plans), as stored. */
  current(): Promise<LivePlans | undefined>;
  /** The code's plans and budgets: what `restoreDefaults` brings back. */
  defaults(): { plans: Readonly<Record<string, PlanConfig>>; shared: SharedBudgetsConfig | undefined };
  /** The plans and budgets in force: the code's with the stored sizes applied. */
  effective(): Promise<{ plans: Record<string, PlanConfig>; shared: SharedBudgetsConfig | undefined }>;
  /**
   * Sets new sizes (replacing the stored ones: sizes not named go back to the code's), validated
   * like code-defined plans; audited; applied at once on every instance. Usage is kept.
   * Throws `RateLimitConfigError` (naming each problem) and stores nothing when they are invalid.
   */
  update(options: { actor: string; sizes: PlanSizes; reason?: string }): Promise<LivePlans>;
  /** Removes the stored sizes: the code's plans apply again, on every instance. Audited. */
  restoreDefaults(options: { actor: string; reason?: string }): Promise<void>;
}

export interface PlanEditorOptions {
  /**
   * Entries the audit log keeps.
   * @default 10_000
   */
  auditLength?: number;
}

/** A plan editor over a limiter made with `livePlans`. */
export function createPlanEditor(limiter: RateLimiter, options: PlanEditorOptions = {}): PlanEditor {
  const handle = (limiter as RateLimiter & { [live]?: LiveHandle })[live];
  if (!handle) throw new RateLimitConfigError('createPlanEditor takes a limiter made by createRateLimiter with livePlans');
  const { store } = handle;
  const auditLength = options.auditLength ?? 10_000;
  const actorOf = (actor: unknown) => {
    if (typeof actor !== 'string' || actor.length === 0 || actor.length > 128) throw new RateLimitInputError('INVALID_ARGUMENT', 'actor must name the admin acting (1 to 128 characters)');
    return actor;
  };
  const read = async () => parseStored(await store.readDocument!(LIVE_PLANS));
  return {
    current: read,
    defaults: () => ({ plans: handle.plans, shared: handle.shared }),
    async effective() {
      const stored = await read();
      return stored ? applySizes(handle.plans, handle.shared, stored.sizes) : { plans: { ...handle.plans }, shared: handle.shared };
    },
    async update({ actor, sizes, reason }) {
      const by = actorOf(actor);
      applySizes(handle.plans, handle.shared, sizes);
      const stored: LivePlans = { sizes, by, at: Date.now(), reason };
      await store.writeDocument!(LIVE_PLANS, JSON.stringify(stored));
      await recordAudit(store, { actor: by, action: 'plans', identifier: LIVE_PLANS, details: { sizes: JSON.stringify(sizes), reason } }, auditLength);
      await handle.refresh();
      return stored;
    },
    async restoreDefaults({ actor, reason }) {
      const by = actorOf(actor);
      await store.writeDocument!(LIVE_PLANS, undefined);
      await recordAudit(store, { actor: by, action: 'restore-plans', identifier: LIVE_PLANS, details: { reason } }, auditLength);
      await handle.refresh();
    },
  };
}
