// Raising anomalies, off the request path: each fired rule is reported at once (event, log line,
// `onAnomaly`), and its writes (the stream, the identifier's history, and a block with its audit
// entry when the rule blocks) go to a bounded queue one background worker drains in order.
// Write failures are reported as store errors ('anomaly'); close() waits for the queue.
import { ANOMALY_DETECTOR, type Anomaly, anomalyFields, IDENTIFIER_HISTORY } from '../anomaly/records';
import { type AnomalyRules, compileRules, type CompiledRules } from '../anomaly/rules';
import { recordAudit } from '../audit';
import { updateControl } from '../controls';
import { HOUR_MS } from '../time';
import type { EvaluateOutput } from '../model';
import type { CompiledPolicy } from '../policy';
import type { Store } from '../stores/types';
import type { Reporter } from './report';

/** Anomalies waiting for their writes; more are dropped (and logged): they fire once per episode. */
const MAX_QUEUED = 1000;

export type AnomalyOptions = AnomalyRules & {
  onAnomaly?: (anomaly: Anomaly) => void;
  streamLength?: number;
};

/** Each plan's compiled rules; plans that detect nothing are absent. */
export function rulesByPlan(policy: CompiledPolicy, options: AnomalyOptions | undefined): Map<string, CompiledRules> {
  const rules = new Map<string, CompiledRules>();
  if (!options) return rules;
  for (const plan of policy.plans.values()) {
    if (plan.anomalies === false) continue;
    const compiled = compileRules(plan, options, plan.anomalies);
    if (compiled.burst || compiled.denialStorm || compiled.costSpike) rules.set(plan.name, compiled);
  }
  return rules;
}

export interface AnomalyRaiser {
  /** Reports what a call fired and queues its writes; never waits for the store. */
  raise(identifier: string, plan: string, rules: CompiledRules, fired: EvaluateOutput['anomalies'], at: number): void;
  /** Resolves when every queued write is done (or failed and was reported). */
  flush(): Promise<void>;
}

export function createAnomalyRaiser(store: Store, options: AnomalyOptions | undefined, report: Reporter, localNow: () => number): AnomalyRaiser {
  const queue: Anomaly[] = [];
  let draining: Promise<void> | undefined;
  let dropped = 0;

  async function write(anomaly: Anomaly) {
    const fields = anomalyFields(anomaly);
    const id = anomaly.identifier;
    await store.append('anomalies', fields, { maxLength: options?.streamLength ?? 10_000 });
    await store.append('anomalies', fields, { maxLength: IDENTIFIER_HISTORY.length, identifier: id, ttlMs: IDENTIFIER_HISTORY.ttlMs });
    if (anomaly.blockedUntil !== undefined) {
      const reason = `anomaly: ${anomaly.rule}`;
      await updateControl(store, id, { block: { until: anomaly.blockedUntil, by: ANOMALY_DETECTOR, reason, at: Date.now() } });
      await recordAudit(store, { actor: ANOMALY_DETECTOR, action: 'block', identifier: id, details: { until: anomaly.blockedUntil, reason } }, 10_000);
    }
  }

  async function drain() {
    for (let anomaly = queue.shift(); anomaly; anomaly = queue.shift()) {
      const started = performance.now();
      try {
        await write(anomaly);
      } catch (error) {
        report.storeError('anomaly', error, started);
      }
    }
  }

  /** Starts the worker unless it runs; it restarts itself for anything queued as it stopped. */
  function kick() {
    draining ??= drain().finally(() => {
      draining = undefined;
      if (queue.length > 0) kick();
    });
  }

  function enqueue(anomaly: Anomaly) {
    if (queue.length >= MAX_QUEUED) {
      dropped++;
      report.logger?.warn({ msg: 'rate limiter anomaly writes backed up: anomaly not written', rule: anomaly.rule, identifier: anomaly.identifier, dropped });
      return;
    }
    queue.push(anomaly);
  }

  return {
    raise(identifier, plan, rules, fired, at) {
      const anomalies = fired.map((f): Anomaly => {
        const rule = f.rule === 'burst' ? rules.burst : f.rule === 'denial-storm' ? rules.denialStorm : rules.costSpike;
        const blockMs = rule?.blockMs ?? 0;
        const windowMs = rule && 'windowMs' in rule ? rule.windowMs : HOUR_MS;
        const anomaly: Anomaly = {
          rule: f.rule,
          identifier,
          plan,
          value: f.value,
          threshold: f.threshold,
          windowMs,
          at,
          blockedUntil: blockMs > 0 ? localNow() + blockMs : undefined,
        };
        report.emit({ type: 'anomaly', anomaly });
        report.logger?.warn({ msg: `rate limiter anomaly: ${anomaly.rule}`, ...anomaly });
        try {
          options?.onAnomaly?.(anomaly);
        } catch {
          // a callback must not break rate limiting
        }
        return anomaly;
      });
      for (const anomaly of anomalies) enqueue(anomaly);
      kick();
    },
    async flush() {
      while (draining) await draining;
    },
  };
}
