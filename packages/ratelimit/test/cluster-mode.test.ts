// ElastiCache Serverless always runs in cluster mode: with REDIS_CLUSTER unset, the configuration
// finds out from the server (here the local cluster) and connects as a cluster; a REDIS_CLUSTER
// that contradicts the server fails at start-up naming the fix; a standalone client that meets a
// cluster says so instead of passing on a MOVED reply.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { createRateLimiter, RateLimitConfigError, RateLimitStoreError } from '../src/index';
import { createRedisClient, createRedisStore, detectClusterMode, redisConfigFromEnv } from '../src/redis';
import { prefix } from './fixtures/stores';

const closing: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closing) await close();
});

const clusterUrl = () => {
  const [node] = inject('clusterNodes');
  return `redis://${node!.host}:${node!.port}`;
};

describe('cluster mode from the server', () => {
  it('with REDIS_CLUSTER unset, a cluster-mode server is connected to as a cluster', async () => {
    const config = redisConfigFromEnv({ REDIS_URL: clusterUrl() })!;
    expect(config.cluster).toBe(false);
    const detected = await detectClusterMode(config);
    expect(detected.cluster).toBe(true);
    const client = createRedisClient(detected);
    expect(client.isCluster).toBe(true);
    const limiter = createRateLimiter({ store: createRedisStore({ client, prefix: prefix() }), plans: { p: { limits: [{ name: 'm', limit: 1, window: '1 m' }] } }, logger: false });
    closing.push(() => limiter.close().then(() => client.quit()));
    // identifiers on every shard: a standalone client would get MOVED for most of them
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => limiter.check(`creator-${i}`, { plan: 'p' })));
    expect(results.every((r) => r.allowed && r.degraded === undefined)).toBe(true);
    expect((await limiter.check('creator-0', { plan: 'p' })).allowed).toBe(false);
  });

  it('with REDIS_CLUSTER unset, a standalone server stays standalone', async () => {
    const config = redisConfigFromEnv({ REDIS_URL: inject('redisUrl') })!;
    expect((await detectClusterMode(config)).cluster).toBe(false);
  });

  it('REDIS_CLUSTER=false against a cluster, or true against a standalone server, fails naming the fix', async () => {
    await expect(detectClusterMode(redisConfigFromEnv({ REDIS_URL: clusterUrl(), REDIS_CLUSTER: 'false' })!)).rejects.toThrow(RateLimitConfigError);
    await expect(detectClusterMode(redisConfigFromEnv({ REDIS_URL: clusterUrl(), REDIS_CLUSTER: 'false' })!)).rejects.toThrow(
      /REDIS_CLUSTER=false, but the Redis server at .* runs in cluster mode \(ElastiCache Serverless always does\): set REDIS_CLUSTER=true or unset it/,
    );
    await expect(detectClusterMode(redisConfigFromEnv({ REDIS_URL: inject('redisUrl'), REDIS_CLUSTER: 'true' })!)).rejects.toThrow(
      /REDIS_CLUSTER=true, but the Redis server at .* does not run in cluster mode: set REDIS_CLUSTER=false or unset it/,
    );
  });

  it('a server that cannot be reached leaves the config as it is', async () => {
    const config = redisConfigFromEnv({ REDIS_URL: 'redis://127.0.0.1:1' })!;
    expect(await detectClusterMode(config, { connectTimeout: 300 })).toBe(config);
  });

  it('a standalone client on a cluster node fails with the fix, not a MOVED reply', async () => {
    const client = new Redis(clusterUrl(), { maxRetriesPerRequest: 1 });
    const store = createRedisStore({ client, prefix: prefix() });
    closing.push(() => store.close().then(() => client.quit()));
    const errors: unknown[] = [];
    for (let i = 0; i < 12; i++) await store.topUsage(`board-${i}`, 1).catch((e: unknown) => errors.push(e));
    // one node serves a third of the slots: the others answer MOVED
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e).toBeInstanceOf(RateLimitStoreError);
      expect((e as Error).message).toMatch(/the server runs in cluster mode .*: set REDIS_CLUSTER=true \(REDIS_URL naming the cluster's configuration endpoint\) and restart the app$/);
      expect((e as Error).message).not.toMatch(/MOVED/);
    }
  });
});
