/** What one limit says about one call. */
export interface LimitOutcome {
  /** The call's cost fits in this limit (a cost of 0 needs one unit left: a used-up limit denies every call). */
  readonly fits: boolean;
  /** Units left after this call (after charging it, when it was charged). */
  readonly remaining: number;
  /**
   * Epoch ms when capacity returns: for a call that did not fit, the first moment a call of the
   * same cost would; otherwise the first moment `remaining` grows by one (now, when it is full).
   */
  readonly resetAt: number;
}

/** What an algorithm needs of a limit. */
export interface LimitSpec {
  readonly limit: number;
  readonly windowMs: number;
}

/** The counter of an identifier's log entries: ids are never reused, even across limits and resets. */
export interface EntryIds {
  entry: number;
}

/**
 * One algorithm: the operations a check runs on one limit's state, in this order (load, remaining,
 * then charge when every limit fits, then outcome), and the one a settle runs (load, adjust). Pure:
 * no I/O, time is an argument. src/lua/include/<algorithm>.lua has the same operations under the
 * same names (`<prefix>_load`, ...), on the state as Redis stores it.
 */
export interface Algorithm<S extends { readonly kind: string }> {
  readonly kind: S['kind'];
  /** The state brought to `now` (expired entries dropped, windows rolled); a new one for `undefined`. */
  load(s: S | undefined, limit: LimitSpec, now: number): S;
  /** Units left at `now`. */
  remaining(s: S, limit: LimitSpec, now: number): number;
  /** Charges `cost` (> 0) at `now`; returns the reference a reservation keeps to settle it. */
  charge(s: S, limit: LimitSpec, now: number, cost: number, ids: EntryIds): number;
  /** The outcome after the call: `need` is its cost (at least 1), `fits` whether it fitted. */
  outcome(s: S, limit: LimitSpec, now: number, need: number, fits: boolean): LimitOutcome;
  /** Settles a charge reserved as `ref` for `reserved` units to `cost` (0 refunds); one gone since changes nothing. */
  adjust(s: S, limit: LimitSpec, now: number, ref: number, reserved: number, cost: number): void;
}
