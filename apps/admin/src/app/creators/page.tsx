// The creator search: `/creators?id=...` (the search box in the header) opens that creator's page.
import { redirect } from 'next/navigation';

import { creatorHref } from '~/lib/links';
import { requireAdmin } from '~/server/guard';

import { Shell } from '../shell';

export const dynamic = 'force-dynamic';

export default async function FindCreatorPage({ searchParams }: { searchParams: Promise<{ id?: string | string[] }> }) {
  const admin = await requireAdmin('/creators');
  const { id: raw } = await searchParams;
  const id = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (id) redirect(creatorHref(id.slice(0, 256)));
  return (
    <Shell admin={admin}>
      <h1>Find a creator</h1>
      <p className="muted">Type a creator id in the search box above, or pick one among the top consumers on the dashboard.</p>
    </Shell>
  );
}
