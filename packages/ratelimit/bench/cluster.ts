// The cluster section's Redis: a 3-master Redis Cluster on loopback, started by the same helper
// the tests' global setup uses (tooling/vitest/redis.mjs) and stopped whole at the end, keys and all.
import { startCluster } from '@airl/vitest-config/redis';
import { Redis } from 'ioredis';

import type { ClusterNode } from './implementation';
import { clusterSnapshot, type RedisSnapshot } from './redis-info';

export interface LocalCluster {
  readonly nodes: readonly ClusterNode[];
  /** INFO of every master, summed: what the cluster did, as one server's snapshot. */
  snapshot(): Promise<RedisSnapshot>;
  stop(): Promise<void>;
}

export async function startLocalCluster(): Promise<LocalCluster> {
  const cluster = await startCluster({ masters: 3 });
  const masters = cluster.nodes.map((n) => new Redis(n.port, n.host, { maxRetriesPerRequest: 1 }));
  return {
    nodes: cluster.nodes,
    snapshot: () => clusterSnapshot(masters),
    async stop() {
      for (const m of masters) m.disconnect();
      await cluster.stop();
    },
  };
}
