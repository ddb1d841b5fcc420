// What every benchmarked limiter provides, and the one way they all connect to Redis.
import { Redis } from 'ioredis';

import type { Check } from './harness';

/** The limit every implementation enforces in a workload. */
export interface LimitSpec {
  readonly limit: number;
  readonly windowMs: number;
}

/** What every implementation is made from: its row, its key prefix, the Redis and the limit. */
export interface ImplementationOptions {
  readonly id: string;
  readonly label: string;
  readonly prefix: string;
  readonly url: string;
  readonly spec: LimitSpec;
}

export interface Session {
  readonly check: Check;
  /** Top-level commands this session's client has written so far (a cross-check of INFO). */
  sent(): number;
  /** Flushes anything batched (so its cost is measured), then disconnects. */
  close(): Promise<void>;
}

export interface Implementation {
  /** Short and stable: used in results JSON and key prefixes. */
  readonly id: string;
  /** The row's name. */
  readonly label: string;
  /** Every key it writes starts with this. */
  readonly prefix: string;
  /** The top-level commands it sends, as INFO commandstats names them (`evalsha`, `multi`, ...). */
  readonly commands: readonly string[];
  /** A fresh client and limiter; warm-up happens after this. */
  open(): Promise<Session>;
}

/**
 * A plain ioredis client, the same for every implementation: ioredis defaults, no auto-pipelining
 * (on loopback it made single-script limiters slower). Counts the commands it writes.
 */
export async function connect(url: string): Promise<{ client: Redis; sent: () => number }> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
  let sent = 0;
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    sent++;
    return send(...args);
  });
  return { client, sent: () => sent };
}

export async function disconnect(client: Redis): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
