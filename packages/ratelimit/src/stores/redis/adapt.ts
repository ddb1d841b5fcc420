// Which adapter a client gets: itself when it is one (glideStoreClient), else by its library (ioredis, node-redis).
// Apart from client.ts so the adapters can import the interface without a cycle.
import type { Redis as IoRedis } from 'ioredis';

import { RateLimitConfigError } from '../../errors';
import type { IoRedisClient, NodeRedisClient, RedisStoreClient } from './client';
import { ioredisAdapter } from './ioredis';
import { nodeRedisAdapter } from './node-redis';

const isAdapter = (c: object): c is RedisStoreClient => typeof (c as RedisStoreClient).evalScript === 'function' && typeof (c as RedisStoreClient).everyMaster === 'function';
const isIoRedis = (c: object): c is IoRedisClient => typeof (c as IoRedis).defineCommand === 'function' && typeof (c as IoRedis).call === 'function';
const isGlide = (c: object): c is object => typeof (c as { customCommand?: unknown }).customCommand === 'function' && typeof (c as { invokeScript?: unknown }).invokeScript === 'function';
const isNodeRedis = (c: object): c is NodeRedisClient => typeof (c as { sendCommand?: unknown }).sendCommand === 'function' && 'isOpen' in c;

/**
 * The adapter for `client`: itself when it is one, else by library (ioredis, node-redis).
 * Throws {@link RateLimitConfigError} for anything else. `owned`: the store made the client, so
 * it also silences the client's error events (failures reach the limiter through its calls).
 */
export function adaptClient(client: unknown, owned: boolean): RedisStoreClient {
  if (typeof client === 'object' && client !== null) {
    if (isAdapter(client)) return client;
    if (isIoRedis(client)) return ioredisAdapter(client, owned);
    if (isNodeRedis(client)) return nodeRedisAdapter(client, owned);
    if (isGlide(client)) {
      // GLIDE takes subscriptions when a client is made: the store needs the configuration
      throw new RateLimitConfigError(
        'client: a Valkey GLIDE client is passed through its adapter: client: () => glideStoreClient({ cluster, config, client }) (from @airl/ratelimit/redis), with the configuration the client was made with',
      );
    }
  }
  throw new RateLimitConfigError(
    'client: expected an ioredis Redis or Cluster, a node-redis client or cluster (createClient() / createCluster() of the redis package), glideStoreClient() for Valkey GLIDE, or a RedisStoreClient adapter',
  );
}
