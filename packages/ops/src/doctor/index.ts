// Entry point `@airl/ops/doctor`.
export { type DoctorOptions, type DoctorReport, type NodeReport, runDoctor } from './doctor';
export { connectionHint, redact } from './hints';
export { parseInfo } from './info';
export { formatReport } from './format';
export { doctorMain, USAGE as DOCTOR_USAGE } from './main';
export { type LatencyStats, percentile, summarize } from './stats';
export { compareVersions } from '../versions';
