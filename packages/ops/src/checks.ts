// The shape every check of this package reports in, so the doctor and the AWS checks print,
// serialise and exit the same way.

/** How a check came out. */
export type CheckLevel = 'ok' | 'warn' | 'fail';

/** One finding. */
export interface CheckResult {
  /** Stable id, kebab-case, for scripts that look for one check (`eviction-policy`, ...). */
  readonly id: string;
  readonly level: CheckLevel;
  /** What was found, in one sentence. */
  readonly message: string;
  /** What to do about it, when something is wrong. */
  readonly hint?: string;
}

const RANK: Record<CheckLevel, number> = { ok: 0, warn: 1, fail: 2 };

/** The worst level among the checks (`ok` when there are none). */
export function worstLevel(checks: readonly CheckResult[]): CheckLevel {
  return checks.reduce<CheckLevel>((worst, c) => (RANK[c.level] > RANK[worst] ? c.level : worst), 'ok');
}

/**
 * Exit code for a deploy step: 0 when fine, 2 on any failure, and for warnings 1 with
 * `strict`, else 0.
 */
export function exitCodeFor(level: CheckLevel, strict: boolean): 0 | 1 | 2 {
  if (level === 'fail') return 2;
  if (level === 'warn') return strict ? 1 : 0;
  return 0;
}

const MARK: Record<CheckLevel, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' };

/** Text lines for a list of checks, one per check, hints indented below. */
export function formatChecks(checks: readonly CheckResult[]): string[] {
  const width = Math.max(0, ...checks.map((c) => c.id.length));
  return checks.flatMap((c) => [
    `  ${MARK[c.level]}  ${c.id.padEnd(width)}  ${c.message}`,
    ...(c.hint && c.level !== 'ok' ? [`        ${' '.repeat(width)}  -> ${c.hint}`] : []),
  ]);
}
