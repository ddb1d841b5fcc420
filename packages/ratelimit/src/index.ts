// The public surface of `@airl/ratelimit`. Redis lives in `@airl/ratelimit/redis`, the old
// functions in `@airl/ratelimit/legacy`.
export {
  createRateLimiter,
  type CheckOptions,
  type Clock,
  type Cost,
  type LimitStatus,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitResult,
  type Reservation,
  type ReserveResult,
  type SettleResult,
} from './limiter';
export type { FallbackBudget } from './failure/fallback';
export { DEFAULT_PLANS, type Algorithm, type CompiledLimit, type CompiledPlan, type FailureMode, type LimitConfig, type PlanConfig, type PlansConfig } from './policy';
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './stores/memory';
export type { Control, Decision, Store, StoreEvaluateRequest, StoreInspection, StoreResetRequest, StoreSettleRequest, StreamEntry, StreamName } from './stores/types';
export type { SettleStatus } from './model';
export {
  jsonLogger,
  type AnomalyEvent,
  type DecisionEvent,
  type DecisionSource,
  type FailureModeEvent,
  type Logger,
  type RateLimitEvent,
  type RateLimitEventListener,
  type StoreErrorEvent,
} from './events';
export { createRateLimitAdmin, type AuditEntry, type ControlInForce, type IdentifierView, type RateLimitAdmin, type RateLimitAdminOptions } from './admin';
export type { Period } from './usage';
export type { Anomaly, AnomalyRule, AnomalyRules } from './anomaly';
export { type Duration, formatWait, toMs } from './duration';
export { RateLimitWaitAbortedError, type WaitOptions } from './wait';
export { sharedIdentifier, type SharedBudgetConfig, type SharedBudgetsConfig } from './shared';
export { createPlanEditor, type LivePlans, type PlanEditor, type PlanEditorOptions, type PlanSizes } from './live-plans';
export { clientIp, type TrustedProxyOptions } from './client-ip';
export {
  RateLimitConfigError,
  RateLimiterError,
  RateLimitInputError,
  RateLimitStoreError,
  type RateLimiterErrorCode,
  shownValue,
} from './errors';
