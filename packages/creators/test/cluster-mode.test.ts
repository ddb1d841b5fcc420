// Cluster mode found out at start-up: ElastiCache Serverless always runs in cluster mode, and the
// apps must work there without REDIS_CLUSTER=true. Against a real local cluster and the single Redis.
import { randomUUID } from 'node:crypto';

import { freePorts } from '@airl/vitest-config/redis';
import { describe, expect, inject, it } from 'vitest';

import { ConfigError, detectRedisCluster, readLimiters } from '../src/config';
import { createLimiters } from '../src/limiters';

const EXAMPLE = 'apps/web/.env.example';

function configFrom(env: Record<string, string>) {
  const problems: string[] = [];
  const limiters = readLimiters({ RATE_LIMIT_PREFIX: `t-${randomUUID().slice(0, 8)}`, ...env }, problems);
  expect(problems).toEqual([]);
  return { limiters };
}

describe('cluster mode at start-up', () => {
  const node = () => inject('clusterNodes')[0]!;

  it('REDIS_CLUSTER unset, a server in cluster mode: a cluster client, and the limiter works on it', async () => {
    const config = configFrom({ REDIS_URL: `redis://${node().host}:${node().port}` });
    expect(config.limiters.redis?.cluster).toBe(false);
    const found = await detectRedisCluster(config, EXAMPLE);
    expect(found.limiters.redis?.cluster).toBe(true);
    const limiters = createLimiters(found.limiters);
    try {
      // connected first: on a loaded machine a cluster client's first connection can take longer
      // than the limiter's 1 s timeout, and the check would go to the fallback for that reason
      expect(await limiters.readiness(20_000)).toMatchObject({ ready: true });
      // identifiers on every shard: a standalone client would get MOVED for most
      for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) expect((await limiters.limiter.check(id, { plan: 'starter' })).degraded).toBeUndefined();
      expect(limiters.client()?.isCluster).toBe(true);
    } finally {
      await limiters.close();
    }
  });

  it('REDIS_CLUSTER unset, a single server: stays a single-server client', async () => {
    const config = configFrom({ REDIS_URL: inject('redisUrl') });
    expect(await detectRedisCluster(config, EXAMPLE)).toBe(config);
  });

  it('REDIS_CLUSTER set against what the server runs: fails at start-up with the fix', async () => {
    const onCluster = configFrom({ REDIS_URL: `redis://${node().host}:${node().port}`, REDIS_CLUSTER: 'false' });
    const error = await detectRedisCluster(onCluster, EXAMPLE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/REDIS_CLUSTER=false, but the Redis server at .* runs in cluster mode .*: set REDIS_CLUSTER=true or unset it/);
    expect((error as ConfigError).message).toContain(EXAMPLE);
    const onSingle = configFrom({ REDIS_URL: inject('redisUrl'), REDIS_CLUSTER: 'true' });
    await expect(detectRedisCluster(onSingle, EXAMPLE)).rejects.toThrow(/REDIS_CLUSTER=true, but .* does not run in cluster mode: set REDIS_CLUSTER=false or unset it/);
  });

  it('a server that cannot be reached: the configuration as it was (the limiter policy answers until it is up)', async () => {
    const [port] = await freePorts(1);
    const config = configFrom({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(await detectRedisCluster(config, EXAMPLE)).toBe(config);
  });

  it('no Redis: nothing to ask', async () => {
    const config = configFrom({});
    expect(await detectRedisCluster(config, EXAMPLE)).toBe(config);
  });
});
