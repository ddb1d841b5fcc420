// ElastiCache Serverless always runs in cluster mode: with REDIS_CLUSTER unset, the configuration
// finds out from the server (here the local cluster) and connects as a cluster; a REDIS_CLUSTER
// that contradicts the server fails at start-up naming the fix; a standalone client that meets a
// cluster says so instead of passing on a MOVED reply. Checks on a cluster go one call each,
// those of one tick on one node in one pipeline.
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { createRateLimiter, type PlansConfig, RateLimitConfigError, RateLimitStoreError } from '../src/index';
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

describe('checks on a cluster', () => {
  const log = { pro: { limits: [{ name: 'minute', limit: 5, window: '1 m' }] } } satisfies PlansConfig;
  const fn = (name: unknown) => String(name).replace(/^airl_[0-9a-f]+_/, '');

  /** The functions FCALLed through `c`: sent alone, and per pipeline (pipelines without any left out). */
  function record(c: Cluster) {
    const alone: string[] = [];
    const pipelines: string[][] = [];
    const call = c.call.bind(c) as (...args: unknown[]) => Promise<unknown>;
    (c as unknown as { call: unknown }).call = (...args: unknown[]) => {
      if (args[0] === 'FCALL') alone.push(fn(args[1]));
      return call(...args);
    };
    const pipeline = c.pipeline.bind(c);
    c.pipeline = ((...args: Parameters<Cluster['pipeline']>) => {
      const p = pipeline(...args);
      const calls: string[] = [];
      const pcall = p.call.bind(p) as (...a: unknown[]) => unknown;
      (p as unknown as { call: unknown }).call = (...a: unknown[]) => (a[0] === 'FCALL' && calls.push(fn(a[1])), pcall(...a));
      const exec = p.exec.bind(p);
      p.exec = (...e: Parameters<typeof p.exec>) => (calls.length > 0 && pipelines.push(calls), exec(...e));
      return p;
    });
    return { alone, pipelines };
  }

  async function limiterOn(c: Cluster, batch?: number) {
    const store = createRedisStore({ client: c, prefix: prefix(), ...(batch && { batch }) });
    const limiter = createRateLimiter({ plans: log, store, controls: false, topConsumers: false, denyCache: false });
    closing.push(() => limiter.close().then(() => c.disconnect()));
    await limiter.peek('warm-up', { plan: 'pro' }); // loads the library on the warm-up's shard
    return limiter;
  }

  it('the checks of one tick go one call each, one pipeline per node, and answer as one after the other', async () => {
    const c = new Cluster(inject('clusterNodes'));
    // a batch that holds the whole tick (the default, 16, would send it in three)
    const limiter = await limiterOn(c, 64);
    const sent = record(c);
    // 30 identifiers (on every node) and ten checks of one of them, interleaved
    const ids = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 'together' : `id-${i}`));
    const results = await Promise.all(ids.map((id) => limiter.check(id, { plan: 'pro' })));
    expect(sent.alone).toEqual([]);
    expect(sent.pipelines.length).toBe(c.nodes('master').length);
    expect(sent.pipelines.flat()).toEqual(Array<string>(40).fill('check'));
    const together = results.filter((_, i) => ids[i] === 'together');
    expect(together.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false, false, false, false]);
    expect(together.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0, 0, 0]);
    expect(results.filter((_, i) => ids[i] !== 'together').every((r) => r.allowed && r.remaining === 4)).toBe(true);
  });

  it('with batch 1, or alone in its tick, a check goes alone', async () => {
    const c = new Cluster(inject('clusterNodes'));
    const unbatched = await limiterOn(c, 1);
    const batched = await limiterOn(c);
    const sent = record(c);
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((id) => unbatched.check(id, { plan: 'pro' })));
    expect(results.every((r) => r.allowed)).toBe(true);
    expect((await batched.check('lone', { plan: 'pro' })).allowed).toBe(true);
    expect(sent).toEqual({ alone: Array<string>(5).fill('check'), pipelines: [] });
  });
});
