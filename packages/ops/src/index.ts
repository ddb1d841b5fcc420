// The public surface of `@airl/ops`. Each part also has its own entry point (`./doctor`, `./aws`,
// `./emf`) so an app that only emits metrics loads neither ioredis nor the AWS SDK.
export { type CheckLevel, type CheckResult, exitCodeFor, formatChecks, worstLevel } from './checks';
export * from './doctor';
export * from './aws';
export * from './emf';
