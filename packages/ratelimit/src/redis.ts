// Entry point `@airl/ratelimit/redis`: the Redis store and a client made from the environment.
// Kept apart so code that only needs the memory store never loads ioredis.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';

import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

import { nameConnectionFailures } from './connection-errors';
import { RateLimitConfigError, shownValue } from './errors';

export { RedisConnectionError } from './connection-errors';
export { type GlideStoreClientOptions, glideStoreClient } from './stores/redis/glide';
export {
  type AnyRedisClient,
  createRedisStore,
  encodeIdentifier,
  type NodeRedisClient,
  type RedisClient,
  type RedisStore,
  type RedisStoreClient,
  type RedisStoreOptions,
} from './stores/redis/index';

/** Where Redis is, as read from the environment. Never logged whole: it may hold a password. */
export interface RedisConnectionConfig {
  readonly host: string;
  readonly port: number;
  /** In-transit encryption (ElastiCache `TransitEncryptionEnabled`, `rediss://`). */
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** Cluster mode: `host` is a seed or the configuration endpoint. */
  readonly cluster: boolean;
  /**
   * Whether `cluster` was set (`REDIS_CLUSTER`) or assumed; {@link detectClusterMode} turns an
   * assumed `false` into `true` on a server in cluster mode (ElastiCache Serverless always is).
   */
  readonly clusterSet?: boolean;
  /** A PEM file of the CA to trust, for servers whose certificate no public CA signed. */
  readonly caFile?: string | undefined;
}

/**
 * Reads an on/off environment variable: `1/true/yes/on` or `0/false/no/off` (any case); undefined
 * when unset or empty. Throws {@link RateLimitConfigError} (naming the variable, never a value that
 * may be secret) for anything else.
 */
export function parseFlag(name: string, v: string | undefined): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new RateLimitConfigError(`${shownValue(name, v)} must be true or false`);
}

/**
 * Reads the Redis connection from the environment; undefined when none is configured.
 *
 * - `REDIS_URL`: `redis://[user:password@]host[:port]` or `rediss://` for TLS; or
 * - `ELASTICACHE_REDIS_HOST` / `REDIS_HOST` with `ELASTICACHE_REDIS_PORT` / `REDIS_PORT` (6379);
 * - `REDIS_TLS` (true/false), `REDIS_USERNAME`, `REDIS_PASSWORD` or `REDIS_AUTH_TOKEN`,
 *   `REDIS_CLUSTER` (true for cluster mode; unset: see {@link detectClusterMode}), `REDIS_TLS_CA_FILE`
 *   (PEM of a private CA; not needed for ElastiCache).
 *
 * Throws {@link RateLimitConfigError} naming the variable to fix.
 */
export function redisConfigFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): RedisConnectionConfig | undefined {
  const clusterFlag = parseFlag('REDIS_CLUSTER', env.REDIS_CLUSTER);
  const cluster = clusterFlag ?? false;
  const clusterSet = clusterFlag !== undefined;
  const tlsFlag = parseFlag('REDIS_TLS', env.REDIS_TLS);
  const password = env.REDIS_PASSWORD || env.REDIS_AUTH_TOKEN || undefined;
  const username = env.REDIS_USERNAME || undefined;
  const caFile = env.REDIS_TLS_CA_FILE || undefined;
  // a CA file that cannot be used is reported now, at start, rather than on the first call
  const checked = (config: RedisConnectionConfig) => {
    if (config.tls && config.caFile) readCa(config.caFile);
    return config;
  };
  if (env.REDIS_URL) {
    let url: URL;
    try {
      url = new URL(env.REDIS_URL);
    } catch {
      throw new RateLimitConfigError('REDIS_URL is not a URL; write redis://host:6379 or rediss://host:6379 for TLS');
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new RateLimitConfigError(`REDIS_URL must start with redis:// or rediss:// (got ${url.protocol}//)`);
    }
    const port = Number(url.port || 6379);
    if (!url.hostname) throw new RateLimitConfigError('REDIS_URL has no host; write redis://host:6379');
    return checked({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port,
      tls: tlsFlag ?? url.protocol === 'rediss:',
      username: url.username ? decodeURIComponent(url.username) : username,
      password: url.password ? decodeURIComponent(url.password) : password,
      cluster,
      clusterSet,
      caFile,
    });
  }
  const host = env.ELASTICACHE_REDIS_HOST || env.REDIS_HOST;
  if (!host) return undefined;
  const rawPort = env.ELASTICACHE_REDIS_PORT || env.REDIS_PORT || '6379';
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RateLimitConfigError(`${shownValue(env.ELASTICACHE_REDIS_PORT ? 'ELASTICACHE_REDIS_PORT' : 'REDIS_PORT', rawPort)} must be a port number (1-65535)`);
  }
  return checked({ host, port, tls: tlsFlag ?? false, username, password, cluster, clusterSet, caFile });
}

/**
 * Client settings for a rate limiter: fail fast instead of hanging. Connects on first use; a
 * command waits at most `commandTimeout`, even while disconnected; one retry per command.
 */
export const safeClientOptions = {
  lazyConnect: true,
  connectTimeout: 2000,
  commandTimeout: 1000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: true,
  retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000),
} satisfies RedisOptions;

/** The PEM in `REDIS_TLS_CA_FILE`; throws naming the variable when it cannot be read or holds no certificate. */
function readCa(file: string): Buffer {
  let ca: Buffer;
  try {
    ca = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new RateLimitConfigError(`REDIS_TLS_CA_FILE=${file} cannot be read (${code}): point it at the PEM file of the CA that signed the Redis server's certificate`);
  }
  if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RateLimitConfigError(`REDIS_TLS_CA_FILE=${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----): point it at the CA's PEM file`);
  }
  return ca;
}

function tlsOptions(config: RedisConnectionConfig): NonNullable<RedisOptions['tls']> {
  const ca = config.caFile ? readCa(config.caFile) : undefined;
  // a certificate names a host, never an IP address: SNI with an IP is invalid
  return { ...(ca && { ca }), ...(isIP(config.host) === 0 && { servername: config.host }) };
}

/**
 * Makes an ioredis client (cluster or not) from a connection config, with {@link safeClientOptions}.
 * Its error events, and the commands it fails while not connected, name the cause of a TLS or AUTH
 * failure ({@link RedisConnectionError}: certificate, host name, TLS on one side only, password).
 * Throws {@link RateLimitConfigError} when the CA file cannot be read.
 */
export function createRedisClient(config: RedisConnectionConfig, overrides: RedisOptions = {}): Redis | Cluster {
  const options: RedisOptions = {
    ...safeClientOptions,
    username: config.username,
    password: config.password,
    ...(config.tls && { tls: tlsOptions(config) }),
    ...overrides,
  };
  if (!config.cluster) {
    const client = new Redis({ ...options, host: config.host, port: config.port });
    nameConnectionFailures(client, config);
    return client;
  }
  const clusterOptions: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: true,
    redisOptions: options,
    // TLS certificates name the configuration endpoint, not the node IPs it resolves to
    ...(config.tls && { dnsLookup: (address, callback) => callback(null, address) }),
  };
  const cluster = new Cluster([{ host: config.host, port: config.port }], clusterOptions);
  nameConnectionFailures(cluster, config);
  return cluster;
}

/**
 * Asks the server whether it runs in cluster mode (`INFO cluster`: `cluster_enabled:1`), over one
 * short-lived connection, and returns the config to connect with: with `REDIS_CLUSTER` unset, a
 * cluster-mode server (ElastiCache Serverless always is one) gets `cluster: true`. Throws
 * {@link RateLimitConfigError} when `REDIS_CLUSTER` says otherwise than the server, naming the fix.
 * A server that cannot be reached leaves the config as it is (the limiter's failure policy answers
 * until it can). Call it once at start-up, before {@link createRedisClient}.
 */
export async function detectClusterMode(config: RedisConnectionConfig, overrides: RedisOptions = {}): Promise<RedisConnectionConfig> {
  const probe = new Redis({
    ...safeClientOptions,
    username: config.username,
    password: config.password,
    ...(config.tls && { tls: tlsOptions(config) }),
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...overrides,
    host: config.host,
    port: config.port,
  });
  probe.on('error', () => undefined);
  let info: string;
  try {
    info = await probe.info('cluster');
  } catch {
    return config;
  } finally {
    probe.disconnect();
  }
  const enabled = /^cluster_enabled:1\b/m.test(info);
  if (enabled === config.cluster) return config;
  const where = `the Redis server at ${config.host}:${config.port}`;
  if (enabled && !config.clusterSet) return { ...config, cluster: true };
  if (enabled) {
    throw new RateLimitConfigError(`REDIS_CLUSTER=false, but ${where} runs in cluster mode (ElastiCache Serverless always does): set REDIS_CLUSTER=true or unset it`);
  }
  throw new RateLimitConfigError(`REDIS_CLUSTER=true, but ${where} does not run in cluster mode: set REDIS_CLUSTER=false or unset it`);
}
