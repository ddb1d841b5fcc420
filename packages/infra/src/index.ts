// The public surface of `@airl/infra`: the stack, its alarms, and the app builder.
export { CacheAlarms, type CacheAlarmsProps, LimiterAlarms, type LimiterAlarmsProps } from './alarms';
export { buildApp, propsFromContext } from './app';
export { type ExistingNetwork, memberClusterIds, RateLimitCacheStack, type RateLimitCacheStackProps } from './cache-stack';
export { LimiterFunction, type LimiterFunctionOptions, type LimiterFunctionProps } from './limiter-function';
