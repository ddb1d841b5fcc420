// CloudWatch alarms: the ones the seed asked for on the cache's nodes, and their limiter-level
// companions on the EMF metrics the app publishes. Every alarm notifies one SNS topic, on alarm
// and on recovery.
import { METRIC_NAMES } from '@airl/ops/emf';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface CacheAlarmsProps {
  /** Member cluster ids of the replication group, one per node (`<id>-001`, ...). */
  readonly nodeIds: readonly string[];
  /** A node's connection limit; the alarm fires above 80% of it. */
  readonly maxConnections: number;
  /** Notified on alarm and on recovery. */
  readonly topic: sns.ITopic;
}

const FIVE_MINUTES = Duration.minutes(5);

function notify(alarm: cloudwatch.Alarm, topic: sns.ITopic) {
  alarm.addAlarmAction(new actions.SnsAction(topic));
  alarm.addOkAction(new actions.SnsAction(topic));
}

/** Per node: CPU > 75%, CurrConnections > 80% of the limit, Evictions > 0, network in/out anomalies. */
export class CacheAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: CacheAlarmsProps) {
    super(scope, id);
    for (const nodeId of props.nodeIds) {
      // every member cluster of a replication group has one node, 0001
      const metric = (metricName: string, statistic: string) =>
        new cloudwatch.Metric({
          namespace: 'AWS/ElastiCache',
          metricName,
          dimensionsMap: { CacheClusterId: nodeId, CacheNodeId: '0001' },
          statistic,
          period: FIVE_MINUTES,
        });
      const add = (alarm: cloudwatch.Alarm) => {
        notify(alarm, props.topic);
        this.alarms.push(alarm);
      };
      add(
        new cloudwatch.Alarm(this, `${nodeId}-Cpu`, {
          alarmName: `${nodeId} CPU > 75%`,
          alarmDescription: 'Host CPU above 75% for 15 minutes. See docs/runbooks/scaling.md.',
          metric: metric('CPUUtilization', 'Average'),
          threshold: 75,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 3,
          treatMissingData: cloudwatch.TreatMissingData.MISSING,
        }),
      );
      add(
        new cloudwatch.Alarm(this, `${nodeId}-Connections`, {
          alarmName: `${nodeId} connections > 80% of ${props.maxConnections}`,
          alarmDescription: 'Client connections near the node limit: a connection leak or too many app instances. See docs/runbooks/incident-response.md.',
          metric: metric('CurrConnections', 'Maximum'),
          threshold: Math.floor(props.maxConnections * 0.8),
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 2,
          treatMissingData: cloudwatch.TreatMissingData.MISSING,
        }),
      );
      add(
        new cloudwatch.Alarm(this, `${nodeId}-Evictions`, {
          alarmName: `${nodeId} evictions > 0`,
          alarmDescription: 'Redis evicted keys: limiter windows were lost (free quota). The parameter group should say noeviction. See docs/runbooks/incident-response.md.',
          metric: metric('Evictions', 'Sum'),
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
      for (const direction of ['In', 'Out'] as const) {
        add(
          new cloudwatch.AnomalyDetectionAlarm(this, `${nodeId}-Network${direction}`, {
            alarmName: `${nodeId} NetworkBytes${direction} anomaly`,
            alarmDescription: `NetworkBytes${direction} outside its usual band for 15 minutes: a traffic spike, or the app stopped reaching the cache.`,
            metric: metric(`NetworkBytes${direction}`, 'Sum'),
            stdDevs: 3,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_LOWER_OR_GREATER_THAN_UPPER_THRESHOLD,
            evaluationPeriods: 3,
            treatMissingData: cloudwatch.TreatMissingData.MISSING,
          }),
        );
      }
    }
  }
}

export interface LimiterAlarmsProps {
  /** Namespace of the limiter's EMF metrics. */
  readonly namespace: string;
  /** Their dimensions, exactly as the app publishes them. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Percent of decisions answered by a failure policy (fallback, open, closed) in 5 minutes above which the share alarm fires. */
  readonly degradedSharePercent: number;
  /** Notified on alarm and on recovery. */
  readonly topic: sns.ITopic;
}

/**
 * The limiter's companions, all computed from decisions (every call is one `Allowed` or `Denied`
 * count, and one more under `Fallback`, `FailOpen` or `FailClosed` when a failure policy answered
 * it), never from store errors: one failed store call opens the breaker and later calls never
 * touch the store, so errors undercount an outage by orders of magnitude.
 */
export class LimiterAlarms extends Construct {
  /** The share of decisions answered without Redis, over the threshold. */
  readonly degradedShare: cloudwatch.Alarm;
  /** Any decision answered by the fallback or refused as store-unavailable, or any outage. */
  readonly withoutStore: cloudwatch.Alarm;
  /** Any call allowed without a limit check. */
  readonly failOpen: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: LimiterAlarmsProps) {
    super(scope, id);
    const sum = (metricName: string) =>
      new cloudwatch.Metric({ namespace: props.namespace, metricName, dimensionsMap: { ...props.dimensions }, statistic: 'Sum', period: FIVE_MINUTES });
    const alarm = (key: string, options: Omit<cloudwatch.AlarmProps, 'comparisonOperator' | 'evaluationPeriods' | 'treatMissingData'>) => {
      const created = new cloudwatch.Alarm(this, key, {
        ...options,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // no traffic gives no data, not an alarm
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      notify(created, props.topic);
      return created;
    };
    // the same share at any traffic: a total outage of 3 s in a 5-minute period is 1% of its decisions
    this.degradedShare = alarm('DegradedShare', {
      alarmName: `Rate limiter answered > ${props.degradedSharePercent}% of decisions without Redis`,
      alarmDescription: 'A failure policy (fallback, fail-open, fail-closed) answered this share of limit checks: Redis was unreachable or too slow. Run the connection doctor; see docs/runbooks/incident-response.md.',
      metric: new cloudwatch.MathExpression({
        expression: '100 * (fallback + failOpen + failClosed) / (allowed + denied)',
        usingMetrics: {
          fallback: sum(METRIC_NAMES.fallback),
          failOpen: sum(METRIC_NAMES.failOpen),
          failClosed: sum(METRIC_NAMES.failClosed),
          allowed: sum(METRIC_NAMES.allowed),
          denied: sum(METRIC_NAMES.denied),
        },
        label: 'Decisions answered by a failure policy (%)',
        period: FIVE_MINUTES,
      }),
      threshold: props.degradedSharePercent,
    });
    this.withoutStore = alarm('WithoutStore', {
      alarmName: 'Rate limiter answered without Redis',
      alarmDescription: 'Limits were answered by the per-process fallback (not shared between instances) or refused as store-unavailable, or the store became unavailable. See docs/runbooks/incident-response.md.',
      metric: new cloudwatch.MathExpression({
        expression: 'fallback + failClosed + unavailable',
        usingMetrics: { fallback: sum(METRIC_NAMES.fallback), failClosed: sum(METRIC_NAMES.failClosed), unavailable: sum(METRIC_NAMES.storeUnavailable) },
        label: 'Fallback answers, store-unavailable refusals and outages',
        period: FIVE_MINUTES,
      }),
      threshold: 0,
    });
    this.failOpen = alarm('FailOpen', {
      alarmName: 'Rate limiter failed open',
      alarmDescription: 'Calls were allowed without a limit check because Redis was unavailable: AI spend is unbounded until it recovers.',
      metric: sum(METRIC_NAMES.failOpen),
      threshold: 0,
    });
  }
}
