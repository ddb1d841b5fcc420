import type { AuditEntry } from '@airl/ratelimit/admin';
import Link from 'next/link';

import { formatTime } from '~/lib/format';
import { creatorHref } from '~/lib/links';

const ACTIONS: Record<AuditEntry['action'], string> = {
  reset: 'reset',
  override: 'plan override',
  block: 'block',
  lift: 'lift',
  plans: 'plan sizes changed',
  'restore-plans': "code's plans restored",
};

function details(entry: AuditEntry): string {
  const d = entry.details;
  const parts: string[] = [];
  // `limit` names one limit, several ('burst, hourly'), or 'all'
  if (entry.action === 'reset') parts.push(d.limit === 'all' || d.limit === undefined ? 'every limit' : `${String(d.limit).includes(',') ? 'limits' : 'limit'} ${d.limit}`);
  if (d.plan !== undefined) parts.push(`plan ${d.plan}`);
  if (entry.action === 'plans' && typeof d.sizes === 'string') parts.push(`sizes ${d.sizes}`);
  if (typeof d.until === 'number') parts.push(`until ${formatTime(d.until)}`);
  if (d.what !== undefined) parts.push(d.what === 'both' ? 'override and block' : String(d.what));
  if (d.reason !== undefined) parts.push(`reason: ${d.reason}`);
  return parts.join(' · ');
}

/** Who did what to whom and when, newest first. */
export function AuditTable({ entries, showCreator = true }: { entries: readonly AuditEntry[]; showCreator?: boolean }) {
  return (
    <table>
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>What</th>
          {showCreator && <th>Creator</th>}
          <th>Details</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => (
          <tr key={e.id} data-testid="audit-entry">
            <td>{formatTime(e.at)}</td>
            <td data-testid="audit-actor">{e.actor}</td>
            <td data-testid="audit-action">{ACTIONS[e.action] ?? e.action}</td>
            {showCreator && (
              <td data-testid="audit-creator">
                <Link href={creatorHref(e.identifier)}>{e.identifier}</Link>
              </td>
            )}
            <td>{details(e)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
