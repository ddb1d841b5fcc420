// Entry point `@airl/ratelimit/store`: what a store author implements and receives. Apps need
// only the `Store` type, which the root entry also exports.
export type {
  Control,
  ControlStore,
  Decision,
  DocumentStore,
  LimitingStore,
  Store,
  StoreConcern,
  StoreEvaluateRequest,
  StoreInspection,
  StoreResetRequest,
  StoreSettleRequest,
  StreamEntry,
  StreamName,
  StreamStore,
  UsageStore,
} from './stores/types';
export { storeConcerns } from './stores/capabilities';
export type { EvaluateOutput, LimitOutcome, Mode, SettleStatus } from './model';
export type { CompiledRules, Fired } from './anomaly';
export type { CompiledLimit } from './plan';
