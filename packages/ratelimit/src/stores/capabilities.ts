// Which concerns a store implements, checked once where a store is handed over (limiter, admin),
// so a store missing one fails at start-up naming what to add, not on the first call that needs it.
import { RateLimitConfigError } from '../errors';
import { STORE_CONCERNS, type StoreConcern } from './types';

/** The concerns `store` implements: every member of each is a function. */
export function storeConcerns(store: object): Set<StoreConcern> {
  const found = new Set<StoreConcern>();
  for (const [concern, members] of Object.entries(STORE_CONCERNS) as [StoreConcern, readonly string[]][]) {
    if (members.every((m) => typeof (store as Record<string, unknown>)[m] === 'function')) found.add(concern);
  }
  return found;
}

/**
 * Throws {@link RateLimitConfigError} when `store` lacks a concern `who` needs, naming the members
 * to implement.
 */
export function requireConcerns(store: unknown, concerns: readonly StoreConcern[], who: string): void {
  if (typeof store !== 'object' || store === null) throw new RateLimitConfigError(`${who}: store must be a store object (createMemoryStore(), createRedisStore(), ...)`);
  const kind = typeof (store as { kind?: unknown }).kind === 'string' ? `'${(store as { kind: string }).kind}' ` : '';
  const missing = concerns.flatMap((c) => {
    const members = STORE_CONCERNS[c].filter((m) => typeof (store as Record<string, unknown>)[m] !== 'function');
    return members.length > 0 ? [`${c} (${members.map((m) => `${m}()`).join(', ')})`] : [];
  });
  if (missing.length > 0) {
    throw new RateLimitConfigError(`${who}: the ${kind}store does not implement ${missing.join('; ')}: implement them or pass a store that does`, missing);
  }
}
