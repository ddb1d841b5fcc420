// Global setup for suites that need one Redis: the one on 127.0.0.1:6379 (or REDIS_URL), else
// one started here; a run with neither fails here with install instructions. Each run writes
// under its own key prefix (inject('testKeyPrefix')), deleted when the run ends.
/// <reference path="../provided.d.ts" />
import type { TestProject } from 'vitest/node';

import { ensureRedis, runPrefix } from '../redis.mjs';
import { deleteRunKeys } from './cleanup';

export default async function setup(project: TestProject) {
  const redis = await ensureRedis();
  const prefix = runPrefix();
  project.provide('redisUrl', redis.url);
  project.provide('clusterNodes', []);
  project.provide('testKeyPrefix', prefix);
  return async () => {
    await deleteRunKeys(redis.url, prefix);
    await redis.stop();
  };
}
