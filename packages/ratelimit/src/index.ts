// The public surface of `@airl/ratelimit`: what an app needs to limit calls. Other entry points:
// `./redis` (the Redis store), `./trpc` (the middleware and headers), `./http` (clientIp),
// `./admin` (createRateLimitAdmin: views, resets, overrides; createPlanEditor: live plan sizes), `./store` (for store authors),
// `./legacy` (the old functions), `./lambda` and `./lambda-handler`.
export {
  createRateLimiter,
  type CheckOptions,
  type Clock,
  type Cost,
  type FallbackBudget,
  type LimitStatus,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitResult,
  type Reservation,
  type ReserveResult,
  type SettleResult,
} from './limiter';
export { DEFAULT_PLANS, type Algorithm, type CompiledLimit, type CompiledPlan, type FailureMode, type LimitConfig, type PlanConfig, type PlansConfig } from './policy';
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './stores/memory';
export type { Store } from './stores/types';
export type { SettleStatus } from './model';
export type {
  AnomalyEvent,
  DecisionEvent,
  DecisionSource,
  FailureModeEvent,
  Logger,
  RateLimitEvent,
  RateLimitEventListener,
  StoreErrorEvent,
} from './events';
export type { Anomaly, AnomalyRule, AnomalyRules } from './anomaly';
export { type Duration, formatWait, toMs } from './duration';
export { RateLimitWaitAbortedError, type WaitOptions } from './wait';
export { sharedIdentifier, type SharedBudgetConfig, type SharedBudgetsConfig } from './shared';
export {
  RateLimitConfigError,
  RateLimiterError,
  RateLimitInputError,
  RateLimitStoreError,
  type RateLimiterErrorCode,
  shownValue,
} from './errors';
