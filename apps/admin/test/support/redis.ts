/// <reference types="@airl/vitest-config/provided" />
// The Redis servers the app-level tests run on: the single Redis and the 3-master cluster from the
// global setup, one client per kind and file, and key prefixes under the run's own (deleted when
// the run ends).
import { randomUUID } from 'node:crypto';

import type { RedisClient } from '@airl/ratelimit/redis';
import { Cluster, Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';

import { type AdminApp, createAdminApp } from '~/server/app';
import { loadConfig } from '~/server/config';

export type Kind = 'redis' | 'cluster';
export const KINDS: Kind[] = ['redis', 'cluster'];

const clients: RedisClient[] = [];
const closing: (() => Promise<unknown>)[] = [];

/** A new client of a kind (each app instance has its own connections, as in production). */
export function client(kind: Kind): RedisClient {
  let c: RedisClient;
  if (kind === 'redis') c = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  else {
    const nodes = inject('clusterNodes');
    if (nodes.length === 0) throw new Error('no cluster nodes: run with @airl/vitest-config/setup/cluster');
    c = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
  }
  clients.push(c);
  return c;
}

/** Closes `thing` after the file's tests. */
export function closeLater(close: () => Promise<unknown>) {
  closing.push(close);
}

afterAll(async () => {
  for (const close of closing.reverse()) await close();
  await Promise.all(clients.map((c) => c.quit()));
});

/** A fresh prefix for one test, under the run's (so its keys are deleted with the run's). */
export const freshPrefix = () => `${inject('testKeyPrefix')}-${randomUUID().slice(0, 8)}`;

/** The admin app on `kind` under `prefix`, as the server assembles it (the demo account, unless `env` says otherwise). */
export function adminApp(kind: Kind, prefix: string, env: Record<string, string> = {}): AdminApp {
  const config = loadConfig({ NODE_ENV: 'test', RATE_LIMIT_PREFIX: prefix, DEMO_ADMIN: 'true', ...env });
  const app = createAdminApp(config, { client: client(kind) });
  closeLater(() => app.close());
  return app;
}

/** Polls until `read` returns what `ok` accepts: announcements between instances travel over pub/sub. */
export async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}
