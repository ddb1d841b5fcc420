// Entry point `@airl/ratelimit/store`: what a store author implements and receives. Apps need
// only the `Store` type, which the root entry also exports.
export type {
  Control,
  Decision,
  Store,
  StoreEvaluateRequest,
  StoreInspection,
  StoreResetRequest,
  StoreSettleRequest,
  StreamEntry,
  StreamName,
} from './stores/types';
export type { EvaluateOutput, LimitOutcome, Mode, SettleStatus } from './model';
export type { CompiledRules, Fired } from './anomaly';
export type { CompiledLimit } from './plan';
