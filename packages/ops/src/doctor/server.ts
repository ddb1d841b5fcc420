// What the doctor reads of the servers: every master's INFO, the connection's TLS, and the checks on them.
import { isIP } from 'node:net';
import { TLSSocket } from 'node:tls';

import { createRedisClient, type RedisConnectionConfig } from '@airl/ratelimit/redis';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

import type { CheckResult } from '../checks';
import { parseInfo } from './info';
import type { NodeReport } from './types';

export type Client = Redis | Cluster;

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

/** `promise`, or an ETIMEDOUT error naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function masterNodes(client: Client): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

export async function describeNode(node: Redis): Promise<NodeReport> {
  const info = parseInfo(`${await node.info('server')}\n${await node.info('memory')}\n${await node.info('replication')}`);
  return {
    address: `${node.options.host ?? '?'}:${node.options.port ?? '?'}`,
    version: info.redis_version ?? 'unknown',
    mode: info.redis_mode ?? 'standalone',
    role: info.role ?? 'unknown',
    usedMemory: Number(info.used_memory ?? 0),
    maxmemory: Number(info.maxmemory ?? 0),
    maxmemoryPolicy: info.maxmemory_policy ?? 'unknown',
  };
}

export function tlsOf(node: Redis | undefined): { enabled: boolean; protocol: string | undefined } {
  const stream: unknown = node?.stream;
  if (stream instanceof TLSSocket) return { enabled: true, protocol: stream.getProtocol() ?? undefined };
  return { enabled: false, protocol: undefined };
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/** The memory checks of one run: eviction policy and fill level of every master. */
export function memoryChecks(nodes: readonly NodeReport[], warnRatio: number): CheckResult[] {
  const policies = [...new Set(nodes.map((n) => n.maxmemoryPolicy))];
  const checks: CheckResult[] = [];
  if (policies.length === 1 && policies[0] === 'noeviction') {
    checks.push({ id: 'eviction-policy', level: 'ok', message: 'maxmemory-policy is noeviction: limiter keys are never evicted' });
  } else {
    checks.push({
      id: 'eviction-policy',
      level: 'warn',
      message: `maxmemory-policy is ${policies.join(', ')}: Redis may evict limiter keys (every one has a TTL, so volatile-* policies evict them too), which silently resets windows and grants extra quota`,
      hint: "set maxmemory-policy to noeviction (on ElastiCache, in a custom parameter group: packages/infra does this); when memory is full, writes then fail loudly and the limiter's failure mode applies.",
    });
  }
  for (const n of nodes) {
    if (n.maxmemory === 0) {
      checks.push({
        id: 'memory',
        level: 'warn',
        message: `${n.address}: maxmemory is 0 (no limit), ${mb(n.usedMemory)} used`,
        hint: 'set maxmemory below the machine memory, or the OS may kill Redis; ElastiCache always sets it.',
      });
      continue;
    }
    const ratio = n.usedMemory / n.maxmemory;
    const message = `${n.address}: ${mb(n.usedMemory)} of ${mb(n.maxmemory)} used (${Math.round(ratio * 100)}%)`;
    checks.push(
      ratio >= warnRatio
        ? { id: 'memory', level: 'warn', message: `${message}: near full`, hint: 'scale up the node type or add shards (docs/runbooks/scaling.md), or find what fills it.' }
        : { id: 'memory', level: 'ok', message },
    );
  }
  return checks;
}

/** `redis_mode` of the server at the configured address, asked without cluster mode; undefined when it does not answer. */
export async function serverMode(config: RedisConnectionConfig, overrides: RedisOptions): Promise<string | undefined> {
  let probe: ReturnType<typeof createRedisClient> | undefined;
  try {
    probe = createRedisClient({ ...config, cluster: false }, overrides);
    probe.on('error', () => undefined);
    await withTimeout(probe.connect(), Number(overrides.connectTimeout ?? 5000), 'connecting');
    return parseInfo(await probe.info('server')).redis_mode ?? 'standalone';
  } catch {
    return undefined;
  } finally {
    probe?.disconnect();
  }
}

export function tlsCheck(tls: { enabled: boolean; protocol: string | undefined }, host: string): CheckResult {
  if (tls.enabled) return { id: 'tls', level: 'ok', message: `encrypted (${tls.protocol ?? 'TLS'})` };
  if (isLoopback(host)) return { id: 'tls', level: 'ok', message: 'not encrypted (loopback only)' };
  return {
    id: 'tls',
    level: 'warn',
    message: 'not encrypted: limiter traffic and the AUTH token cross the network in clear',
    hint: 'enable in-transit encryption (ElastiCache TransitEncryptionEnabled; packages/infra does) and use rediss://.',
  };
}
