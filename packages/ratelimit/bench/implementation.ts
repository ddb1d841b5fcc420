// What every benchmarked limiter provides, and the one way they all connect to Redis.
import { Cluster, Redis } from 'ioredis';

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
  /** Nodes of a Redis Cluster to use instead of `url` (through an ioredis `Cluster`). */
  readonly cluster?: readonly ClusterNode[] | undefined;
  readonly spec: LimitSpec;
}

export interface ClusterNode {
  readonly host: string;
  readonly port: number;
}

/** The client every implementation gets: a `Redis`, or a `Cluster` in the cluster section. */
export type BenchClient = Redis | Cluster;

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
 * (on loopback it made single-script limiters slower); a `Cluster` of `cluster` when given, with
 * the same options. Counts the commands it writes.
 */
export async function connect(o: Pick<ImplementationOptions, 'url' | 'cluster'>): Promise<{ client: BenchClient; sent: () => number }> {
  const client = o.cluster
    ? new Cluster([...o.cluster], { lazyConnect: true, redisOptions: { maxRetriesPerRequest: 1 } })
    : new Redis(o.url, { maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
  let sent = 0;
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis['sendCommand']>) => {
    sent++;
    return send(...args);
  });
  return { client, sent: () => sent };
}

export async function disconnect(client: BenchClient): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
