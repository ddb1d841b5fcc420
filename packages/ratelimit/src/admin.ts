// What admins need, over a limiter's public store API: where a creator stands, who consumes most,
// the latest anomalies, and actions (reset, plan override, block, lift) that take effect at once
// on every instance and are written to a capped audit log. Never scans the keyspace.
import { type Anomaly, parseAnomaly } from './anomaly/records';
import { type AuditEntry, parseAuditEntry, recordAudit } from './audit';
import { liveControl, updateControl } from './controls';
import { type Duration, toMs } from './duration';
import { RateLimitConfigError, RateLimitInputError } from './errors';
import { internals, type LimiterInternals, type LimitStatus, type RateLimiter } from './limiter';
import type { Control, Decision, StoreInspection } from './stores/types';
import { boardName, type Period } from './usage';

export type { AuditEntry } from './audit';
export type { Period } from './usage';
export { createPlanEditor, type LivePlans, type PlanEditor, type PlanEditorOptions, type PlanSizes } from './live-plans';

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
  /** The plan override in force: which plan, until when, by whom, why. */
  readonly override: (Decision & { readonly plan: string }) | undefined;
  /** The block in force: until when, by whom (an admin or the anomaly detector), why. */
  readonly block: Decision | undefined;
  /**
   * Every limit of the applied plan: `remaining` and `resetAt` as a peek answers, and `used`, the
   * units recorded in the window, past the limit too (a call settled above it: the work was done),
   * while `remaining` stops at 0. Exact up to 2^52 units (a sliding-window counter: 2^52 / window
   * ms; a token bucket: 1,024 times its limit, within the rounding of its refill).
   */
  readonly limits: readonly (LimitStatus & { readonly used: number })[];
  readonly reservations: StoreInspection['reservations'];
  readonly denials: StoreInspection['denials'];
  /** Store clock, epoch ms. */
  readonly now: number;
}

/** A shared budget's use now: every limit of it, used / limit, and the fair share. */
export interface SharedBudgetView {
  readonly name: string;
  /** The fraction of each limit one identifier may use (1: no share). */
  readonly maxShare: number;
  /** Each limit's status (sizes in force, live plans included), with `used` (as in {@link IdentifierView}: past the limit too). */
  readonly limits: readonly (LimitStatus & { readonly used: number })[];
  /** Store clock, epoch ms. */
  readonly now: number;
}

/** An identifier with an override or a block in force. */
export interface ControlInForce extends Control {
  readonly identifier: string;
}

export interface RateLimitAdmin {
  inspect(identifier: string, options: { plan: string }): Promise<IdentifierView>;
  /** Every shared budget's use now (one read per budget, charging nothing); none without budgets. */
  sharedBudgets(): Promise<SharedBudgetView[]>;
  /** The identifiers that used the most of a unit this hour or today, largest first. */
  topConsumers(options: { period: Period; unit?: string; count?: number }): Promise<{ identifier: string; amount: number }[]>;
  /** Every override and block in force, the soonest to end first. */
  controls(): Promise<ControlInForce[]>;
  /** The newest anomalies (of one identifier, with `identifier`), newest first. */
  anomalies(options?: { count?: number; identifier?: string }): Promise<{ id: string; anomaly: Anomaly }[]>;
  /** The newest audit entries (about one identifier, with `identifier`), newest first. */
  audit(options?: { count?: number; identifier?: string }): Promise<AuditEntry[]>;
  /**
   * Forgets usage, on every instance at once: the named limits (one name or a list, in one step
   * and one audit entry), or every limit without `limit`.
   */
  reset(identifier: string, options: { actor: string; limit?: string | readonly string[]; reason?: string }): Promise<void>;
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

  const record = (actor: string, action: AuditEntry['action'], identifier: string, details: Record<string, string | number | undefined>) =>
    recordAudit(store, { actor, action, identifier, details }, auditLength);
  const countOf = (count: number | undefined, fallback: number) => Math.min(Math.max(1, count ?? fallback), 1000);
  const optionalIdentifier = (id: unknown) => (id === undefined ? undefined : identifier(id));

  return {
    async inspect(id, { plan }) {
      identifier(id);
      const basePlan = planOf(plan);
      const control = liveControl(await store.control(id), Date.now());
      const override = control?.override && policy.plans.has(control.override.plan) ? control.override : undefined;
      const effective = override?.plan ?? basePlan;
      const [status, used, inspection] = await Promise.all([inner.peekRaw(id, effective), inner.recorded(id, effective), store.inspect(id, inner.now())]);
      return {
        identifier: id,
        basePlan,
        plan: effective,
        planSource: override ? 'override' : 'default',
        override,
        block: control?.block,
        limits: status.limits.map((l, i) => ({ ...l, used: used[i]! })),
        reservations: inspection.reservations,
        denials: inspection.denials,
        now: inspection.now,
      };
    },
    async sharedBudgets() {
      const budgets = (await inner.sharedBudgets?.()) ?? [];
      return budgets.map(({ name, maxShare, status, used }) => ({
        name,
        maxShare,
        limits: status.limits.map((l, i) => ({ ...l, used: used[i]! })),
        now: status.now,
      }));
    },
    async topConsumers({ period, unit = 'requests', count = 10 }) {
      if (period !== 'hour' && period !== 'day') throw new RateLimitInputError('INVALID_ARGUMENT', "period must be 'hour' or 'day'");
      return store.topUsage(boardName(period, unit, Date.now()), Math.min(Math.max(1, count), 1000));
    },
    async controls() {
      const now = Date.now();
      const inForce: ControlInForce[] = [];
      for (const [id, c] of await store.controls()) {
        const live = liveControl(c, now);
        if (live) inForce.push({ identifier: id, ...live });
      }
      const ends = (c: Control) => Math.min(c.override?.until ?? Infinity, c.block?.until ?? Infinity);
      return inForce.sort((a, b) => ends(a) - ends(b));
    },
    async anomalies(o) {
      const entries = await store.read('anomalies', countOf(o?.count, 50), optionalIdentifier(o?.identifier));
      return entries.flatMap((e) => {
        const anomaly = parseAnomaly(e.fields);
        return anomaly ? [{ id: e.id, anomaly }] : [];
      });
    },
    async audit(o) {
      return (await store.read('audit', countOf(o?.count, 100), optionalIdentifier(o?.identifier))).map(parseAuditEntry);
    },
    async reset(id, { actor, limit, reason }) {
      identifier(id);
      const who = actorOf(actor);
      await limiter.reset(id, limit === undefined ? {} : { limit });
      // one entry for the whole reset, naming each limit once
      const names = typeof limit === 'string' ? limit : limit && [...new Set(limit)].join(', ');
      await record(who, 'reset', id, { limit: names ?? 'all', reason: reasonOf(reason) });
    },
    async overridePlan(id, { actor, plan, for: duration, reason }) {
      identifier(id);
      const who = actorOf(actor);
      const until = Date.now() + durationOf(duration);
      const why = reasonOf(reason);
      const control = await updateControl(store, id, { override: { plan: planOf(plan), until, by: who, reason: why, at: Date.now() } });
      await record(who, 'override', id, { plan, until, reason: why });
      return control!;
    },
    async block(id, { actor, for: duration, reason }) {
      identifier(id);
      const who = actorOf(actor);
      const until = Date.now() + durationOf(duration);
      const why = reasonOf(reason);
      const control = await updateControl(store, id, { block: { until, by: who, reason: why, at: Date.now() } });
      await record(who, 'block', id, { until, reason: why });
      return control!;
    },
    async lift(id, { actor, what = 'both', reason }) {
      identifier(id);
      const who = actorOf(actor);
      await updateControl(store, id, { ...(what !== 'block' && { override: null }), ...(what !== 'override' && { block: null }) });
      await record(who, 'lift', id, { what, reason: reasonOf(reason) });
    },
  };
}
