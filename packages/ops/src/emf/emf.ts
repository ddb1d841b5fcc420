// Limiter events as CloudWatch metrics in Embedded Metric Format (EMF): JSON lines that CloudWatch
// Logs turns into metrics, with no agent where stdout already reaches CloudWatch Logs (Lambda).
// Events are counted in memory and flushed as one line per plan and interval, never one per call.
import type { RateLimitEvent } from '@airl/ratelimit';

/** Every event the emitter understands. */
export type LimiterEvent = RateLimitEvent;

/** Metric names, shared with the alarms in `@airl/infra`. */
export const METRIC_NAMES = {
  allowed: 'Allowed',
  denied: 'Denied',
  storeErrors: 'StoreErrors',
  failOpen: 'FailOpen',
  failClosed: 'FailClosed',
  fallback: 'Fallback',
  storeUnavailable: 'StoreUnavailable',
  anomalies: 'Anomalies',
  latency: 'DecisionLatency',
} as const;

/** Where the metrics go unless told otherwise; `@airl/infra` alarms on the same. */
export const EMF_DEFAULTS = {
  namespace: 'AIRateLimit',
  dimensions: { Service: 'ai-ratelimit' } as Readonly<Record<string, string>>,
} as const;

type Counter = Exclude<keyof typeof METRIC_NAMES, 'latency'>;
const COUNTERS: readonly Counter[] = ['allowed', 'denied', 'storeErrors', 'failOpen', 'failClosed', 'fallback', 'storeUnavailable', 'anomalies'];
/** EMF accepts at most 100 values per metric in one line. */
const MAX_VALUES = 100;

/** One flush's worth of one plan (or of no plan: store errors carry none). */
class Bucket {
  readonly counts: Record<Counter, number> = { allowed: 0, denied: 0, storeErrors: 0, failOpen: 0, failClosed: 0, fallback: 0, storeUnavailable: 0, anomalies: 0 };
  readonly latencies: number[] = [];
  private seen = 0;
  constructor(
    private readonly capacity: number,
    private readonly random: () => number,
  ) {}
  count(counter: Counter) {
    this.counts[counter]++;
  }
  /** Reservoir sampling: every decision has the same chance of being among the values sent. */
  sample(ms: number) {
    this.seen++;
    if (this.latencies.length < this.capacity) this.latencies.push(ms);
    else {
      const i = Math.floor(this.random() * this.seen);
      if (i < this.capacity) this.latencies[i] = ms;
    }
  }
}

/** Decisions made by a plan's failure policy while the store was unavailable. */
const DEGRADED: Readonly<Record<string, Counter>> = { 'fail-open': 'failOpen', 'fail-closed': 'failClosed', fallback: 'fallback' };

/** How each event type is counted; a new event type is one more line here. */
const HANDLERS: { [T in LimiterEvent['type']]: (bucket: Bucket, event: Extract<LimiterEvent, { type: T }>) => void } = {
  decision: (b, e) => {
    b.count(e.allowed ? 'allowed' : 'denied');
    const degraded = DEGRADED[e.source];
    if (degraded) b.count(degraded);
    b.sample(e.durationMs);
  },
  'store-error': (b) => b.count('storeErrors'),
  // each time the store becomes unavailable (not when it comes back)
  'failure-mode': (b, e) => {
    if (e.active) b.count('storeUnavailable');
  },
  anomaly: (b) => b.count('anomalies'),
};

export interface EmfMetricsOptions {
  /**
   * CloudWatch namespace.
   * @default 'AIRateLimit'
   */
  namespace?: string;
  /**
   * Dimensions on every metric, for example `{ Service: 'ai-ratelimit', App: 'web' }`. Alarms
   * must name the same ones. At least one.
   * @default { Service: 'ai-ratelimit' }
   */
  dimensions?: Readonly<Record<string, string>>;
  /**
   * Also publish per plan (a `Plan` dimension next to the others). Each plan adds 9 custom
   * metrics to pay for; the alarms need only the service-wide ones.
   * @default false
   */
  perPlan?: boolean;
  /**
   * Flush every this many ms on a timer that does not keep the process alive; `false` flushes
   * only when `flush()` or `close()` is called (for example at the end of a Lambda invocation).
   * @default 60_000
   */
  flushIntervalMs?: number | false;
  /**
   * Receives each JSON line (no newline).
   * @default a line on process.stdout
   */
  write?: (line: string) => void;
  /**
   * Clock for the `Timestamp` of each line, in epoch ms.
   * @default Date.now
   */
  now?: () => number;
  /**
   * Random numbers in [0, 1) for the latency sample.
   * @default Math.random
   */
  random?: () => number;
}

export interface EmfMetrics {
  /** Pass as the limiter's `onEvent`. Cheap: counts in memory. */
  readonly onEvent: (event: LimiterEvent) => void;
  /** Writes what was counted since the last flush (one line per plan) and returns the lines. */
  flush(): string[];
  /** Stops the timer and flushes. */
  close(): string[];
}

const NAME = /^[A-Za-z0-9 ._\-/#:@]{1,255}$/;

/**
 * Creates an EMF emitter for a limiter's events.
 *
 * @example
 * const metrics = createEmfMetrics({ dimensions: { Service: 'ai-ratelimit', App: 'web' } });
 * const limiter = createRateLimiter({ store, onEvent: metrics.onEvent });
 */
export function createEmfMetrics(options: EmfMetricsOptions = {}): EmfMetrics {
  const namespace = options.namespace ?? EMF_DEFAULTS.namespace;
  const dimensions = options.dimensions ?? EMF_DEFAULTS.dimensions;
  const keys = Object.keys(dimensions);
  if (!NAME.test(namespace)) throw new TypeError(`namespace '${namespace}' must be 1-255 letters, digits or . _ - / # : @ and spaces`);
  if (keys.length < 1 || keys.length > 29) throw new TypeError('dimensions: give 1 to 29 (EMF allows 30 with Plan)');
  if (keys.includes('Plan') || keys.includes('_aws')) throw new TypeError("dimensions: 'Plan' and '_aws' are reserved");
  const perPlan = options.perPlan ?? false;
  const write = options.write ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  let buckets = new Map<string, Bucket>();

  const onEvent = (event: LimiterEvent) => {
    const handler = HANDLERS[event.type] as ((b: Bucket, e: LimiterEvent) => void) | undefined;
    if (!handler) return; // an event type this emitter does not know yet
    const eventPlan = event.type === 'anomaly' ? event.anomaly.plan : 'plan' in event ? event.plan : undefined;
    const plan = perPlan && typeof eventPlan === 'string' ? eventPlan : '';
    let bucket = buckets.get(plan);
    if (!bucket) buckets.set(plan, (bucket = new Bucket(MAX_VALUES, random)));
    handler(bucket, event);
  };

  const flush = (): string[] => {
    const done = buckets;
    buckets = new Map();
    const timestamp = now();
    const lines: string[] = [];
    for (const [plan, bucket] of done) {
      const metrics = [
        ...COUNTERS.map((c) => ({ Name: METRIC_NAMES[c], Unit: 'Count' })),
        ...(bucket.latencies.length ? [{ Name: METRIC_NAMES.latency, Unit: 'Milliseconds' }] : []),
      ];
      const doc = {
        _aws: {
          Timestamp: timestamp,
          // with a plan, the same values feed both the service-wide and the per-plan metrics
          CloudWatchMetrics: [{ Namespace: namespace, Dimensions: plan ? [keys, [...keys, 'Plan']] : [keys], Metrics: metrics }],
        },
        ...dimensions,
        ...(plan && { Plan: plan }),
        ...Object.fromEntries(COUNTERS.map((c) => [METRIC_NAMES[c], bucket.counts[c]])),
        ...(bucket.latencies.length && { [METRIC_NAMES.latency]: bucket.latencies.map((ms) => Math.round(ms * 1000) / 1000) }),
      };
      const line = JSON.stringify(doc);
      lines.push(line);
      write(line);
    }
    return lines;
  };

  const timer = options.flushIntervalMs === false ? undefined : setInterval(flush, options.flushIntervalMs ?? 60_000);
  timer?.unref();

  return {
    onEvent,
    flush,
    close() {
      clearInterval(timer);
      return flush();
    },
  };
}
