// Entry point `@airl/ratelimit/lambda`: the store that reaches Redis through the limiter function
// (for compute that cannot join the cache's VPC). Kept apart so only apps that use it load the
// AWS SDK.
export { createLambdaStore, type LambdaStore, type LambdaStoreOptions } from './stores/lambda/store';
export { WIRE_VERSION } from './stores/lambda/wire';
export type { LambdaSessionClient } from './stores/lambda/sessions';
