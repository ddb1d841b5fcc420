// What admins need, over a limiter's public store API: where a creator stands, who consumes most,
// the latest anomalies, and actions (reset, plan override, block, lift) that take effect at once
// on every instance and are written to a capped audit log. Never scans the keyspace.
import { type Duration, toMs } from './duration';
import { RateLimitConfigError, RateLimitInputError } from './errors';
import { internals, type LimiterInternals, type LimitStatus, type RateLimiter } from './limiter';
import type { Control, StoreInspection, StreamEntry } from './stores/types';
import { boardName, type Period } from './usage';

export interface RateLimitAdminOptions {
  /**
   * Entries the audit log keeps (the oldest go first).
   * @default 10_000
   */
  auditLength?: number;
  /**
   * Longest override or block an admin may set.
   * @default '30 d'
   */
  maxDuration?: Duration;
}

/** Everything an admin sees about one identifier. */
export interface IdentifierView {
  readonly identifier: string;
  /** The plan the app gives it. */
  readonly basePlan: string;
  /** The plan that applies now, and why. */
  readonly plan: string;
  readonly planSource: 'default' | 'override';
  /** Until when the override applies (epoch ms). */
  readonly overrideUntil: number | undefined;
  /** Set while blocked. */
  readonly block: { readonly until: number; readonly reason: string | undefined; readonly by: string | undefined } | undefined;
  /** The admin decision on file, as stored. */
  readonly control: Control | undefined;
  /** Every limit of the applied plan: used / remaining / reset. */
  readonly limits: readonly (LimitStatus & { readonly used: number })[];
  readonly reservations: StoreInspection['reservations'];
  readonly denials: StoreInspection['denials'];
  /** Store clock, epoch ms. */
  readonly now: number;
}

/** One line of the audit log. */
export interface AuditEntry {
  readonly id: string;
  /** Epoch ms. */
  readonly at: number;
  readonly actor: string;
  readonly action: 'reset' | 'override' | 'block' | 'lift';
  readonly identifier: string;
  /** What exactly: the limit reset, the plan and expiry, the reason. */
  readonly details: Readonly<Record<string, string | number>>;
}

export interface RateLimitAdmin {
  inspect(identifier: string, options: { plan: string }): Promise<IdentifierView>;
  /** The identifiers that used the most of a unit this hour or today, largest first. */
  topConsumers(options: { period: Period; unit?: string; count?: number }): Promise<{ identifier: string; amount: number }[]>;
  /** The newest entries of the anomaly stream, newest first. */
  anomalies(options?: { count?: number }): Promise<StreamEntry[]>;
  /** The newest audit entries, newest first. */
  audit(options?: { count?: number }): Promise<AuditEntry[]>;
  /** Forgets usage (one limit or all), on every instance at once. */
  reset(identifier: string, options: { actor: string; limit?: string; reason?: string }): Promise<void>;
  /** Applies another plan for a while. */
  overridePlan(identifier: string, options: { actor: string; plan: string; for: Duration; reason?: string }): Promise<Control>;
  /** Denies every call for a while. */
  block(identifier: string, options: { actor: string; for: Duration; reason?: string }): Promise<Control>;
  /** Ends an override, a block, or both. */
  lift(identifier: string, options: { actor: string; what?: 'override' | 'block' | 'both'; reason?: string }): Promise<void>;
}

/** Admin operations over a limiter (and its store). */
export function createRateLimitAdmin(limiter: RateLimiter, options: RateLimitAdminOptions = {}): RateLimitAdmin {
  const inner = (limiter as RateLimiter & { [internals]?: LimiterInternals })[internals];
  if (!inner) throw new RateLimitConfigError('createRateLimitAdmin takes a limiter made by createRateLimiter');
  const { store } = limiter;
  const auditLength = options.auditLength ?? 10_000;
  const maxDurationMs = toMs(options.maxDuration ?? '30 d', 'maxDuration');
  const { policy } = inner;

  const identifier = (value: unknown) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
      throw new RateLimitInputError('INVALID_IDENTIFIER', 'identifier must be a non-empty string of at most 256 characters');
    }
    return value;
  };
  const actorOf = (value: unknown) => {
    if (typeof value !== 'string' || value.trim().length === 0 || value.length > 128) {
      throw new RateLimitInputError('INVALID_ARGUMENT', 'actor must name the admin acting (1 to 128 characters)');
    }
    return value;
  };
  const planOf = (value: unknown) => {
    if (typeof value !== 'string' || !policy.plans.has(value)) {
      throw new RateLimitInputError('UNKNOWN_PLAN', `unknown plan '${String(value)}'; the plans are: ${[...policy.plans.keys()].join(', ')}`);
    }
    return value;
  };
  const durationOf = (value: Duration) => {
    let ms: number;
    try {
      ms = toMs(value, 'for');
    } catch (error) {
      throw new RateLimitInputError('INVALID_ARGUMENT', (error as Error).message);
    }
    if (ms > maxDurationMs) throw new RateLimitInputError('INVALID_ARGUMENT', `for: at most ${maxDurationMs} ms (maxDuration)`);
    return ms;
  };
  const reasonOf = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value.slice(0, 500) : undefined);

  const record = (actor: string, action: AuditEntry['action'], id: string, details: Record<string, string | number | undefined>) =>
    store.append(
      'audit',
      {
        at: String(Date.now()),
        actor,
        action,
        identifier: id,
        details: JSON.stringify(Object.fromEntries(Object.entries(details).filter(([, v]) => v !== undefined))),
      },
      auditLength,
    );

  /** Active parts of a control, or undefined when nothing is active. */
  const live = (c: Control | undefined, now: number): Control | undefined => {
    if (!c) return undefined;
    const plan = c.plan !== undefined && (c.planUntil ?? Infinity) > now;
    const block = c.blockedUntil !== undefined && c.blockedUntil > now;
    if (!plan && !block) return undefined;
    return { ...c, ...(!plan && { plan: undefined, planUntil: undefined }), ...(!block && { blockedUntil: undefined }) };
  };

  return {
    async inspect(id, { plan }) {
      identifier(id);
      const basePlan = planOf(plan);
      const now = Date.now();
      const control = live(await store.control(id), now);
      const effective = control?.plan !== undefined && policy.plans.has(control.plan) ? control.plan : basePlan;
      const [status, inspection] = await Promise.all([inner.peekRaw(id, effective), store.inspect(id, inner.now())]);
      return {
        identifier: id,
        basePlan,
        plan: effective,
        planSource: effective === basePlan ? 'default' : 'override',
        overrideUntil: effective === basePlan ? undefined : control?.planUntil,
        block: control?.blockedUntil !== undefined ? { until: control.blockedUntil, reason: control.reason, by: control.by } : undefined,
        control,
        limits: status.limits.map((l) => ({ ...l, used: Math.max(0, l.limit - l.remaining) })),
        reservations: inspection.reservations,
        denials: inspection.denials,
        now: inspection.now,
      };
    },
    async topConsumers({ period, unit = 'requests', count = 10 }) {
      if (period !== 'hour' && period !== 'day') throw new RateLimitInputError('INVALID_ARGUMENT', "period must be 'hour' or 'day'");
      return store.topUsage(boardName(period, unit, Date.now()), Math.min(Math.max(1, count), 1000));
    },
    anomalies(o) {
      return store.read('anomalies', Math.min(Math.max(1, o?.count ?? 50), 1000));
    },
    async audit(o) {
      const entries = await store.read('audit', Math.min(Math.max(1, o?.count ?? 100), 1000));
      return entries.map((e) => {
        let details: Record<string, string | number> = {};
        try {
          details = JSON.parse(e.fields.details ?? '{}') as Record<string, string | number>;
        } catch {
          // an entry written by something else: show it without details
        }
        return {
          id: e.id,
          at: Number(e.fields.at),
          actor: e.fields.actor ?? '',
          action: e.fields.action as AuditEntry['action'],
          identifier: e.fields.identifier ?? '',
          details,
        };
      });
    },
    async reset(id, { actor, limit, reason }) {
      identifier(id);
      const who = actorOf(actor);
      await limiter.reset(id, limit === undefined ? {} : { limit });
      await record(who, 'reset', id, { limit: limit ?? 'all', reason: reasonOf(reason) });
    },
    async overridePlan(id, { actor, plan, for: duration, reason }) {
      identifier(id);
      const who = actorOf(actor);
      const planUntil = Date.now() + durationOf(duration);
      const current = live(await store.control(id), Date.now());
      const control: Control = { ...current, plan: planOf(plan), planUntil, reason: reasonOf(reason), by: who, at: Date.now() };
      await store.setControl(id, control);
      await record(who, 'override', id, { plan, until: planUntil, reason: reasonOf(reason) });
      return control;
    },
    async block(id, { actor, for: duration, reason }) {
      identifier(id);
      const who = actorOf(actor);
      const blockedUntil = Date.now() + durationOf(duration);
      const current = live(await store.control(id), Date.now());
      const control: Control = { ...current, blockedUntil, reason: reasonOf(reason), by: who, at: Date.now() };
      await store.setControl(id, control);
      await record(who, 'block', id, { until: blockedUntil, reason: reasonOf(reason) });
      return control;
    },
    async lift(id, { actor, what = 'both', reason }) {
      identifier(id);
      const who = actorOf(actor);
      const current = live(await store.control(id), Date.now());
      let next: Control | undefined = current && {
        ...current,
        ...(what !== 'block' && { plan: undefined, planUntil: undefined }),
        ...(what !== 'override' && { blockedUntil: undefined }),
      };
      if (next?.plan === undefined && next?.blockedUntil === undefined) next = undefined;
      await store.setControl(id, next);
      await record(who, 'lift', id, { what, reason: reasonOf(reason) });
    },
  };
}
