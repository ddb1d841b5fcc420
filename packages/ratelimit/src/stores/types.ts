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
}

export interface StoreResetRequest {
  readonly identifier: string;
  /** The limits to forget; with `all`, every limit of the policy. */
  readonly limits: readonly CompiledLimit[];
  /** Also forget reservations (but not the last reservation id, so ids are never reused). */
  readonly all: boolean;
  readonly stateTtlMs: number;
}

/**
 * Where usage lives. The limiter validates every input before a store sees it; a store only has
 * to apply the model of src/model.ts atomically per identifier.
 */
export interface Store {
  /** `'memory'`, `'redis'`, ... for logs and diagnostics. */
  readonly kind: string;
  evaluate(request: StoreEvaluateRequest): Promise<EvaluateOutput>;
  settle(request: StoreSettleRequest): Promise<{ status: SettleStatus; now: number }>;
  reset(request: StoreResetRequest): Promise<void>;
  /** Releases what the store holds (timers, connections it opened). */
  close?(): Promise<void>;
}
