// The audit log: every reset, override, block and lift (and blocks by the anomaly detector), from
// the engine's capped Redis stream, newest first.
import { getApp } from '~/server/app';
import { requireAdmin } from '~/server/guard';

import { Shell } from '../shell';
import { load, Unavailable } from '../unavailable';
import { AuditTable } from './audit-table';

export const dynamic = 'force-dynamic';

/** The newest entries shown; the stream keeps the last 10,000. */
const SHOWN = 200;

export default async function AuditPage() {
  const admin = await requireAdmin('/audit');
  const { data, error } = await load(() => getApp().admin.audit({ count: SHOWN }));
  return (
    <Shell admin={admin}>
      <h1>Audit log</h1>
      <p className="muted">Who did what to whom and when: the last {SHOWN} entries of a capped stream in Redis (10,000 kept).</p>
      {error && <Unavailable error={error} />}
      {data && <section className="card" data-testid="audit">{data.length === 0 ? <p className="muted">Nothing yet.</p> : <AuditTable entries={data} />}</section>}
    </Shell>
  );
}
