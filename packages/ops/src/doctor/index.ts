// Entry point `@airl/ops/doctor`.
export { connectionHint, type DoctorOptions, type DoctorReport, type NodeReport, parseInfo, redact, runDoctor } from './doctor';
export { formatReport } from './format';
export { doctorMain, USAGE as DOCTOR_USAGE } from './main';
export { type LatencyStats, percentile, summarize } from './stats';
export { compareVersions } from '../versions';
