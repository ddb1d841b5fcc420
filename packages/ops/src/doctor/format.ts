// Text output of the doctor, for people reading a deploy log. `--json` prints the report itself.
import { formatChecks } from '../checks';
import type { DoctorReport } from './doctor';

const VERDICT = { ok: 'OK', warn: 'WARNINGS', fail: 'FAILED' } as const;

/** The report as lines of text (no password: the report never holds it). */
export function formatReport(report: DoctorReport, exitCode: number): string {
  const t = report.target;
  const lines = [
    t
      ? `airl doctor: ${t.host}:${t.port}, ${t.cluster ? 'cluster' : 'single server'}, ${t.tls ? 'TLS' : 'no TLS'}${t.username ? `, user ${t.username}` : ''}${t.password ? ', password ***' : ''}`
      : 'airl doctor: no target',
  ];
  if (report.server) {
    lines.push(`server: Redis ${report.server.version} (${report.server.mode})`);
    for (const n of report.server.nodes) {
      lines.push(`  ${n.address}  ${n.role}  maxmemory ${n.maxmemory === 0 ? 'none' : `${n.maxmemory} B`}  policy ${n.maxmemoryPolicy}`);
    }
  }
  lines.push('checks:', ...formatChecks(report.checks));
  if (report.latency) {
    const l = report.latency;
    lines.push(`latency over ${l.iterations} rounds (goal: p99 < ${l.goalMs} ms):`);
    for (const [op, s] of Object.entries(l.operations)) {
      lines.push(`  ${op.toUpperCase().padEnd(4)}  p50 ${s.p50} ms  p99 ${s.p99} ms  max ${s.max} ms`);
    }
  }
  lines.push(`result: ${VERDICT[report.status]} (exit ${exitCode}) in ${report.meta.durationMs} ms`);
  return lines.join('\n') + '\n';
}
