// Entry point `@airl/ratelimit/lambda-handler`: the handler of the limiter function, which runs the
// Redis store next to the cache. Loads neither the AWS SDK nor ioredis by itself.
export { createLambdaStoreHandler, type LambdaStoreHandler, type LambdaStoreHandlerOptions } from './stores/lambda/handler';
export { MAX_OPS, WIRE_VERSION, type WireRequest, type WireResponse } from './stores/lambda/wire';
export type { LambdaSessionsOptions, SessionRedis } from './stores/lambda/sessions';
