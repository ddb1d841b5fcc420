// Removing the bench's keys. A SCAN of the keyspace is fine in a bench tool against a local
// Redis; the library itself never scans.
import type { Redis } from 'ioredis';

/** Unlinks every key starting with `prefix`; returns how many. */
export async function removeKeys(redis: Redis, prefix: string): Promise<number> {
  if (prefix.length < 8 || /[*?[\]\\]/.test(prefix)) throw new Error(`refusing to remove keys by a short or glob prefix: '${prefix}'`);
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 2000);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** Counts keys starting with `prefix` (a SCAN). */
export async function countKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 2000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}
