// What the web and admin apps share. Limiters (which load ioredis) are in `@airl/creators/limiters`.
export {
  AI_PLANS,
  AI_RESERVATION_TTL_MS,
  AI_SHARED,
  costInCents,
  type CreatorPlan,
  DEFAULT_PRICING,
  isPlan,
  type ModelPricing,
  MONTHLY_QUOTA_USD,
  planFromSubscription,
  PLANS,
  PROVIDER_BUDGET,
  PROVIDER_LIMITS,
  QUOTA_WARNING_LEVELS,
  quotaWarning,
  SPEND_LIMIT,
  UNLIMITED_CENTS,
} from './plans';
export {
  type Creator,
  type CreatorDirectory,
  CreatorDirectoryError,
  createDemoDirectory,
  DEMO_CREATORS,
  demoCreator,
  type DirectoryCreator,
  type DirectoryOptions,
  type HashClient,
  isRedisFailure,
  type PlanSource,
} from './creators';
export { formatCount, formatCountdown, fullBy, pollWhileVisible } from './display';
