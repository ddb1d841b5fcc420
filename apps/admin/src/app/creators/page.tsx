// The creator search: `/creators?id=...` (the search box in the header), by id or name. One match
// opens that creator's page; several are listed; none says so.
import Link from 'next/link';
import { redirect } from 'next/navigation';

import { creatorHref } from '~/lib/links';
import { getApp } from '~/server/app';
import { requireAdmin } from '~/server/guard';
import { searchCreators } from '~/server/search';

import { Shell } from '../shell';
import { load, Unavailable } from '../unavailable';

export const dynamic = 'force-dynamic';

export default async function FindCreatorPage({ searchParams }: { searchParams: Promise<{ id?: string | string[] }> }) {
  const admin = await requireAdmin('/creators');
  const { id: raw } = await searchParams;
  const query = (Array.isArray(raw) ? raw[0] : raw)?.trim().slice(0, 256);
  if (!query) {
    return (
      <Shell admin={admin}>
        <h1>Find a creator</h1>
        <p className="muted">Type a creator&apos;s id or name in the search box above, or pick one among the top consumers on the dashboard.</p>
      </Shell>
    );
  }
  const { data: matches, error } = await load(() => searchCreators(getApp(), query));
  if (matches?.length === 1) redirect(creatorHref(matches[0]!.id));
  return (
    <Shell admin={admin} search={query}>
      <h1>Find a creator</h1>
      {!matches ? (
        <Unavailable error={error} />
      ) : matches.length === 0 ? (
        <p className="notice" data-testid="no-match">
          Nobody matches &ldquo;{query}&rdquo;: no creator has this id or a name containing it, and the limiter has no usage, override or block under this id.
        </p>
      ) : (
        <section className="card" data-testid="matches">
          <p>
            {matches.length} creators match &ldquo;{query}&rdquo;:
          </p>
          <ul>
            {matches.map((m) => (
              <li key={m.id} data-testid="match">
                <Link href={creatorHref(m.id)}>{m.name ?? m.id}</Link> <span className="muted">{m.id}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Shell>
  );
}
