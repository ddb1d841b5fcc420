// Anomaly detection: counters kept by the same atomic step as the check (no extra store call),
// rules that fire once per episode. The counting is pure math; src/lua/include/anomaly.lua mirrors
// it operation for operation, and the model-based tests hold both to the same answers.
// The parts live in src/anomaly/: rules.ts (settings, compileRules), counting.ts (observe, settle,
// episodes), records.ts (the Anomaly record and its stream fields), wire.ts (Lua arguments and
// replies). Modules import the part they need; this file gathers them for the entry points.
export { type AnomalyState, anomalyRetentionMs, BASELINE_KEEP, emptyAnomalyState, type Fired, NOISE_SIGMAS, observe, type Observed, observeSettle, settleAnomaly, type SettleAnomaly, type Stepped, stepCount, STEPS } from './anomaly/counting';
export { type Anomaly, ANOMALY_DETECTOR, anomalyFields, IDENTIFIER_HISTORY, parseAnomaly } from './anomaly/records';
export { type AnomalyRule, type AnomalyRules, type BurstReference, compileRules, type CompiledRules } from './anomaly/rules';
export { parseFired, rulesArg, settleAnomalyArgs } from './anomaly/wire';
