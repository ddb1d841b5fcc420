/// <reference types="@airl/vitest-config/provided" />
// Global setup of the HTTP tests: a Redis (the one on 127.0.0.1:6379, REDIS_URL, or one started
// here) and the built app running on it under a random key prefix.
import { randomUUID } from 'node:crypto';

import { ensureRedis } from '@airl/vitest-config/redis';
import type { TestProject } from 'vitest/node';

import { startApp } from '../support/app-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the running app. */
    appUrl: string;
    /** The app's RATE_LIMIT_PREFIX: tests reach the same limiters through the engine. */
    appPrefix: string;
  }
}

export default async function setup(project: TestProject) {
  const redis = await ensureRedis();
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const app = await startApp({ REDIS_URL: redis.url, RATE_LIMIT_PREFIX: prefix }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  project.provide('redisUrl', redis.url);
  project.provide('clusterNodes', []);
  project.provide('appUrl', app.url);
  project.provide('appPrefix', prefix);
  return async () => {
    await app.stop();
    await redis.stop();
  };
}
