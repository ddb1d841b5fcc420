// The parts one limiter is made of, built once by createRateLimiter() and shared by its steps.
import type { ControlCache } from '../controls';
import type { costRules } from '../costs';
import type { DenyCache } from '../deny-cache';
import type { Breakers } from '../failure/breaker';
import type { Fallback } from '../failure/fallback';
import type { CompiledPolicy } from '../policy';
import type { Store } from '../stores/types';
import type { UsageRecorder } from '../usage';
import type { AnomalyRaiser, rulesByPlan } from './anomalies';
import type { InputChecks } from './input';
import type { LimiterSettings } from './options';
import type { LocalClock, Presence } from './presence';
import type { Reporter } from './report';

export interface LimiterContext {
  readonly store: Store;
  readonly policy: CompiledPolicy;
  readonly settings: LimiterSettings;
  /** How long any state of one identifier can matter (the longest limit, or a reservation). */
  readonly stateTtlMs: number;
  /** What every call may take in all, store calls included. */
  readonly budgetMs: number;
  readonly input: InputChecks;
  readonly costs: ReturnType<typeof costRules>;
  readonly report: Reporter;
  readonly clock: LocalClock;
  readonly presence: Presence;
  readonly breakers: Breakers;
  readonly fallback: Fallback;
  readonly denyCache: DenyCache | undefined;
  readonly controls: ControlCache | undefined;
  readonly usage: UsageRecorder | undefined;
  readonly anomalyRules: ReturnType<typeof rulesByPlan>;
  readonly anomalies: AnomalyRaiser;
  /** Now and then while a shard is down: forgets shards that serve nothing any more. */
  retireShards(): void;
  /** Local ms when a shard's open breaker lets a probe through. */
  retryAtLocal(shard: string): number;
}
