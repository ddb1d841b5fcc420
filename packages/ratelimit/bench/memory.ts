// Redis memory per identifier and per log entry (MEMORY USAGE, SAMPLES 0), measured on keys the
// implementations wrote through their own check path.
import type { Redis } from 'ioredis';

import { identifiers } from './harness';
import type { Implementation } from './implementation';

export interface MemoryPoint {
  /** Calls (log entries) per identifier. */
  readonly entries: number;
  /** MEMORY USAGE of all of an identifier's keys, averaged over identifiers. */
  readonly bytesPerIdentifier: number;
  /** Keys per identifier. */
  readonly keys: number;
  /** OBJECT ENCODING of the identifier's largest key. */
  readonly encoding: string;
}

export interface MemoryResult {
  readonly id: string;
  readonly label: string;
  readonly points: readonly MemoryPoint[];
  /** Bytes per added entry between the points given, while the log stays a listpack. */
  readonly perEntryListpack: number | undefined;
  /** The same once it is a skiplist (past zset-max-listpack-entries). */
  readonly perEntrySkiplist: number | undefined;
}

/** Keys under `prefix` by the 12-digit identifier their name holds; keys without one are left out. */
async function keysById(redis: Redis, prefix: string): Promise<Map<string, string[]>> {
  const byId = new Map<string, string[]>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    for (const key of keys) {
      const id = /\d{12}/.exec(key.slice(prefix.length))?.[0];
      if (id) byId.set(id, [...(byId.get(id) ?? []), key]);
    }
  } while (cursor !== '0');
  return byId;
}

async function usage(redis: Redis, key: string): Promise<number> {
  return Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
}

/**
 * For each entry count, `sample` fresh identifiers each get that many checks (all allowed: the
 * implementation's limit must exceed the largest count, its window must outlast the measurement).
 */
export async function measureMemory(
  redis: Redis,
  impl: (entries: number) => Implementation,
  entryCounts: readonly number[],
  sample: number,
): Promise<MemoryPoint[]> {
  const points: MemoryPoint[] = [];
  for (const entries of entryCounts) {
    const implementation = impl(entries);
    const session = await implementation.open();
    const ids = identifiers(sample);
    let denied = 0;
    await Promise.all(
      ids.map(async (id) => {
        for (let i = 0; i < entries; i++) if (!(await session.check(id))) denied++;
      }),
    );
    await session.close();
    if (denied > 0) throw new Error(`${implementation.label}: ${denied} calls denied while filling ${entries} entries; raise the memory run's limit`);
    let bytes = 0;
    let keys = 0;
    let largest = { size: -1, key: '' };
    const byId = await keysById(redis, implementation.prefix);
    for (const id of ids) {
      for (const key of byId.get(id) ?? []) {
        const size = await usage(redis, key);
        bytes += size;
        keys++;
        if (size > largest.size) largest = { size, key };
      }
    }
    const encoding = largest.key ? String(await redis.call('OBJECT', 'ENCODING', largest.key)) : 'none';
    points.push({ entries, bytesPerIdentifier: bytes / ids.length, keys: keys / ids.length, encoding });
  }
  return points;
}

/** Bytes per entry between two entry counts (undefined when either was not measured). */
export function slope(points: readonly MemoryPoint[], from: number, to: number): number | undefined {
  const a = points.find((p) => p.entries === from);
  const b = points.find((p) => p.entries === to);
  return a && b ? (b.bytesPerIdentifier - a.bytesPerIdentifier) / (to - from) : undefined;
}

/** MEMORY USAGE of every key under `prefix` whose name contains `marker` (shared keys such as usage boards). */
export async function sharedBytes(redis: Redis, prefix: string, marker: string): Promise<number> {
  let cursor = '0';
  let bytes = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*${marker}*`, 'COUNT', 5000);
    cursor = next;
    for (const key of keys) bytes += await usage(redis, key);
  } while (cursor !== '0');
  return bytes;
}
