// Global setup for suites that need one Redis: the one on 127.0.0.1:6379 (or REDIS_URL), else
// one started here; a run with neither fails here with install instructions.
/// <reference path="../provided.d.ts" />
import type { TestProject } from 'vitest/node';

import { ensureRedis } from '../redis.mjs';


export default async function setup(project: TestProject) {
  const redis = await ensureRedis();
  project.provide('redisUrl', redis.url);
  project.provide('clusterNodes', []);
  return () => redis.stop();
}
