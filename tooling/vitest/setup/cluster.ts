// Global setup for suites that run against a single Redis and a real 3-master Redis Cluster on
// loopback. REDIS_CLUSTER_NODES ("host:port,...") reuses a cluster started by the test command.
import type { TestProject } from 'vitest/node';

import { ensureRedis, parseNodes, startCluster } from '../redis.mjs';
import './redis';

export default async function setup(project: TestProject) {
  const redis = await ensureRedis();
  const cluster = process.env.REDIS_CLUSTER_NODES ? undefined : await startCluster({ masters: 3 });
  const nodes = cluster?.nodes ?? parseNodes(process.env.REDIS_CLUSTER_NODES ?? '');
  project.provide('redisUrl', redis.url);
  project.provide('clusterNodes', nodes);
  return async () => {
    await cluster?.stop();
    await redis.stop();
  };
}
