// Entry point `@airl/ops/emf`: limiter metrics for CloudWatch. Loads neither ioredis nor the AWS SDK.
export {
  createEmfMetrics,
  EMF_DEFAULTS,
  type EmfMetrics,
  type EmfMetricsOptions,
  type LimiterEvent,
  METRIC_NAMES,
} from './emf';
