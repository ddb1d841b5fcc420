import type { Fired, SettleAnomaly } from '../anomaly/counting';
import type { CompiledRules } from '../anomaly/rules';
import type { EvaluateOutput, Mode, SettleStatus } from '../model';
import type { CompiledLimit } from '../policy';

export interface StoreEvaluateRequest {
  readonly identifier: string;
  readonly limits: readonly CompiledLimit[];
  /** One per limit, whole numbers >= 0. */
  readonly costs: readonly number[];
  readonly mode: Mode;
  /** Epoch ms, or undefined to use the store's own clock. */
  readonly now: number | undefined;
  readonly reservationTtlMs: number;
  /** How long an identifier's state must be kept after its last write. */
  readonly stateTtlMs: number;
  /** Anomaly rules to count this call against, with its cost in the cost-spike unit. */
  readonly anomaly?: { readonly rules: CompiledRules; readonly cost: number; readonly pendingDenied: number } | undefined;
  /** `performance.now()` by which the call must have answered (the whole limiter call's deadline). */
  readonly deadline?: number | undefined;
}

export interface StoreSettleRequest {
  readonly identifier: string;
  readonly reservationId: string;
  /** The reservation's expiry, as reserve() returned it. */
  readonly expiresAt: number;
  /** The limits of the reservation's plan. */
  readonly limits: readonly CompiledLimit[];
  /** New cost by limit name; limits not named keep what was reserved. */
  readonly costs: ReadonlyMap<string, number>;
  readonly now: number | undefined;
  readonly stateTtlMs: number;
  /** Anomaly rules to count the settle's difference from the estimate against (cost spikes see settled cost). */
  readonly anomaly?: SettleAnomaly | undefined;
  /** `performance.now()` by which the call must have answered. */
  readonly deadline?: number | undefined;
}

export interface StoreResetRequest {
  readonly identifier: string;
  /** The limits to forget; with `all`, every limit of the policy. */
  readonly limits: readonly CompiledLimit[];
  /** Also forget reservations (but not the last reservation id, so ids are never reused). */
  readonly all: boolean;
  readonly stateTtlMs: number;
}

/** Who decided something about an identifier, when and why. */
export interface Decision {
  /** Until when it holds (epoch ms). */
  readonly until: number;
  /** Who decided: an admin, or `'anomaly-detector'`. */
  readonly by: string;
  /** Why, in the admin's words (or the anomaly rule). */
  readonly reason: string | undefined;
  /** When (epoch ms). */
  readonly at: number;
}

/**
 * Admins' decisions about one identifier, shared by every app instance: a temporary plan
 * override, a temporary block, or both, each with its own author and reason.
 */
export interface Control {
  /** Use this plan instead of the one the app passes, until `until`. */
  readonly override?: (Decision & { readonly plan: string }) | undefined;
  /** Deny every call until `until`. */
  readonly block?: Decision | undefined;
}

/** One identifier's state beyond its limits, for admins. */
export interface StoreInspection {
  readonly now: number;
  /** The last denials, newest last. */
  readonly denials: readonly { readonly at: number; readonly limit: string }[];
  /** Reservations not yet settled nor expired. */
  readonly reservations: readonly {
    readonly id: string;
    readonly expiresAt: number;
    readonly parts: readonly { readonly limit: string; readonly cost: number }[];
  }[];
}

/** An entry of a capped stream (anomalies, audit), newest first when read. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
}

export type StreamName = 'anomalies' | 'audit';

/**
 * Where usage lives: the part of a store every limiter needs. The limiter validates every input
 * before a store sees it; a store only has to apply the model of src/model.ts atomically per
 * identifier. The optional members let the limiter tell a failing part of the store from a slow
 * one, share limits between instances during an outage, and correct a caller's clock.
 */
export interface LimitingStore {
  /** `'memory'`, `'redis'`, ... for logs and diagnostics. */
  readonly kind: string;
  evaluate(request: StoreEvaluateRequest): Promise<EvaluateOutput>;
  settle(request: StoreSettleRequest): Promise<{ status: SettleStatus; now: number; anomalies?: readonly Fired[] }>;
  reset(request: StoreResetRequest): Promise<void>;
  inspect(identifier: string, now: number | undefined): Promise<StoreInspection>;

  /** Releases what the store holds (timers, connections it opened). */
  close?(): Promise<void>;

  /** The longest one call may take: the limiter's whole call gets this much. */
  readonly timeoutMs?: number;
  /**
   * Which part of the store (a cluster shard: the master serving the identifier's slot) holds an
   * identifier; failures are counted per part. One part when absent.
   */
  shardOf?(identifier: string): string;
  /** Every shard serving something now (after a failover, the old master is gone). */
  shards?(): ReadonlySet<string>;
  /** Whether the connection to a part is up; undefined when the store cannot tell. */
  connected?(shard: string): boolean | undefined;
  /**
   * Marks this instance alive and counts the instances that did so within `windowMs` (this one
   * included), and reads the store's clock: `now` is its time (epoch ms) when this process's
   * `Date.now()` read `at`.
   */
  heartbeat?(instance: string, windowMs: number): Promise<{ instances: number; now: number; at: number }>;
  /** Forgets an instance that stops, so the others count it out at once (the last one leaves no key). */
  leave?(instance: string): Promise<void>;
}

/** Admins' decisions shared by every instance, and the announcements that keep them in step. */
export interface ControlStore {
  /** Every identifier with a control (only those an admin or a rule acted on). */
  controls(): Promise<Map<string, Control>>;
  control(identifier: string): Promise<Control | undefined>;
  /** Writes, or with undefined removes, an identifier's control, and announces it. */
  setControl(identifier: string, control: Control | undefined): Promise<void>;
  /** Tells every instance that an identifier changed (its control, or its usage by a reset). */
  announce(identifier: string): Promise<void>;
  /**
   * Calls `listener` with every identifier announced by any instance, or with undefined when
   * announcements may have been missed (after a reconnect): then anything may have changed.
   * Resolves once listening, with a function that stops.
   */
  listen(listener: (identifier: string | undefined) => void): Promise<() => Promise<void>>;
}

/** Usage boards: the heaviest identifiers per board, for admins, without scanning the keyspace. */
export interface UsageStore {
  /**
   * Adds amounts to usage boards (for example requests this hour); a board lives `ttlMs` and keeps
   * its `maxEntries` largest entries.
   */
  addUsage(entries: readonly { board: string; identifier: string; amount: number; ttlMs: number }[], options: { maxEntries: number }): Promise<void>;
  /** The identifiers with the largest amounts on a board, largest first. */
  topUsage(board: string, count: number): Promise<{ identifier: string; amount: number }[]>;
}

/** Capped streams (anomalies, audit), global or per identifier. */
export interface StreamStore {
  /**
   * Appends to a capped stream, the global one or an identifier's own (which expires `ttlMs`
   * after its last entry); returns the entry's id.
   */
  append(stream: StreamName, fields: Readonly<Record<string, string>>, options: { maxLength: number; identifier?: string; ttlMs?: number }): Promise<string>;
  /** The newest entries of a stream (the global one, or an identifier's own), newest first. */
  read(stream: StreamName, count: number, identifier?: string): Promise<StreamEntry[]>;
}

/**
 * Small shared documents (live plans, src/live-plans.ts), announced on the controls' channel so
 * every instance reloads them. Optional: a store without it cannot keep live plans (Lambda).
 */
export interface DocumentStore {
  /** A document's JSON text, or undefined when none is stored. */
  readDocument(name: string): Promise<string | undefined>;
  /** Writes (or with undefined removes) a document, then announces `name` to every instance. */
  writeDocument(name: string, json: string | undefined): Promise<void>;
}

/**
 * A store with every concern: limiting, controls and announcements, usage boards and streams.
 * What the limiter and the admin API take; a store for another purpose (a counter only, say)
 * implements {@link LimitingStore} alone.
 */
export interface Store extends LimitingStore, ControlStore, UsageStore, StreamStore, Partial<DocumentStore> {}

/** The concerns a store can implement, by name, with the members each one requires. */
export const STORE_CONCERNS = {
  limiting: ['evaluate', 'settle', 'reset', 'inspect'],
  controls: ['controls', 'control', 'setControl', 'announce', 'listen'],
  usage: ['addUsage', 'topUsage'],
  streams: ['append', 'read'],
} as const satisfies Record<string, readonly (keyof Store)[]>;

export type StoreConcern = keyof typeof STORE_CONCERNS;
