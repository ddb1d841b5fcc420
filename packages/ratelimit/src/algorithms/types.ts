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
