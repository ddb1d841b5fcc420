// Global setup for suites that run against a single Redis and a real 3-master Redis Cluster on
// loopback. REDIS_CLUSTER_NODES ("host:port,...") reuses a cluster started by the test command.
// Each run writes under its own key prefix, deleted from the single Redis when the run ends
// (a cluster started here goes away whole).
/// <reference path="../provided.d.ts" />
import type { TestProject } from 'vitest/node';

import { ensureRedis, parseNodes, runPrefix, startCluster } from '../redis.mjs';
import { deleteRunKeys } from './cleanup';

export default async function setup(project: TestProject) {
  const redis = await ensureRedis();
  const cluster = process.env.REDIS_CLUSTER_NODES ? undefined : await startCluster({ masters: 3 });
  const nodes = cluster?.nodes ?? parseNodes(process.env.REDIS_CLUSTER_NODES ?? '');
  const prefix = runPrefix();
  project.provide('redisUrl', redis.url);
  project.provide('clusterNodes', nodes);
  project.provide('testKeyPrefix', prefix);
  return async () => {
    await deleteRunKeys(redis.url, prefix);
    await cluster?.stop();
    await redis.stop();
  };
}
