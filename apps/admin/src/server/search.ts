// The creator search: by id or by name, case-insensitive. Directory creators match on their id or
// any part of their name; an id the directory does not know matches only when the limiter has
// something on it (usage, a denial, a reservation, an override or a block), so a typo never opens
// an empty page.
import 'server-only';

import { type Creator, DEMO_CREATORS } from '@airl/creators';
import type { RateLimitAdmin } from '@airl/ratelimit/admin';

export interface SearchMatch {
  readonly id: string;
  /** Undefined for an id known only to the limiter. */
  readonly name: string | undefined;
}

/** Creators matching `query` (already trimmed, non-empty): directory creators first, in their order. */
export async function searchCreators(app: { admin: RateLimitAdmin; creators?: readonly Creator[] }, query: string): Promise<SearchMatch[]> {
  const q = query.toLowerCase();
  const creators = app.creators ?? DEMO_CREATORS;
  const matches: SearchMatch[] = creators.filter((c) => c.id.toLowerCase() === q || c.name.toLowerCase().includes(q)).map((c) => ({ id: c.id, name: c.name }));
  if (matches.some((m) => m.id === query) || creators.some((c) => c.id === query)) return matches;
  const view = await app.admin.inspect(query, { plan: 'starter' });
  const seen = view.limits.some((l) => l.used > 0) || view.denials.length > 0 || view.reservations.length > 0 || view.override !== undefined || view.block !== undefined;
  return seen ? [{ id: query, name: undefined }, ...matches] : matches;
}
