// The doctor's steps against a server, in the order runDoctor takes them; each returns what it found.
import { randomBytes } from 'node:crypto';

import { createRateLimiter } from '@airl/ratelimit';
import { createRedisStore, redisConfigFromEnv, type RedisConnectionConfig } from '@airl/ratelimit/redis';
import type { RedisOptions } from 'ioredis';

import type { CheckResult } from '../checks';
import { compareVersions } from '../versions';
import { connectionHint, errorText, IS_A_CLUSTER, NOT_A_CLUSTER, OUT_OF_MEMORY } from './hints';
import { type Client, describeNode, masterNodes, memoryChecks, serverMode, tlsCheck, tlsOf, withTimeout } from './server';
import { type LatencyStats, summarize } from './stats';
import type { DoctorOptions, DoctorReport } from './types';

const OPERATIONS = ['ping', 'set', 'get', 'del'] as const;
type Operation = (typeof OPERATIONS)[number];

/** What one step found: its checks and the parts of the report it fills in. */
export interface Findings extends Partial<{ -readonly [K in 'target' | 'server' | 'tls' | 'latency' | 'scripts']: DoctorReport[K] }> {
  readonly checks: readonly CheckResult[];
  /** The steps after this one would only repeat its failure. */
  readonly stop?: boolean;
}

/** What the steps after the configuration share. */
export interface Probe {
  readonly client: Client;
  readonly config: RedisConnectionConfig;
  readonly overrides: RedisOptions;
  readonly options: DoctorOptions;
  /** The first error the client emitted: ioredis rejects with a bare 'Connection is closed.'. */
  readonly firstError: () => unknown;
  /** True once the deadline passed (the client is then disconnected). */
  readonly stopped: () => boolean;
}

/** The steps against the server, in order. */
export const PROBE_STEPS = [connectStep, serverStep, roundTripStep, scriptsStep] as const;

/** Reads the connection settings as the app does; `config` is undefined when there are none that work. */
export function configStep(env: Readonly<Record<string, string | undefined>>): Findings & { config?: RedisConnectionConfig } {
  let config: RedisConnectionConfig | undefined;
  try {
    config = redisConfigFromEnv(env);
  } catch (error) {
    return { checks: [{ id: 'config', level: 'fail', message: errorText(error) }] };
  }
  if (!config) {
    return {
      checks: [
        {
          id: 'config',
          level: 'fail',
          message: 'no Redis is configured',
          hint: 'set REDIS_URL (redis://host:6379, rediss:// for TLS), or ELASTICACHE_REDIS_HOST / REDIS_HOST with REDIS_TLS and REDIS_AUTH_TOKEN as needed.',
        },
      ],
    };
  }
  const { host, port, tls, cluster, username, password, caFile } = config;
  const checks: CheckResult[] = [];
  if (caFile && !tls) {
    checks.push({ id: 'config', level: 'warn', message: 'REDIS_TLS_CA_FILE is set but TLS is off', hint: 'use rediss:// or REDIS_TLS=true, or unset REDIS_TLS_CA_FILE.' });
  }
  checks.push({ id: 'config', level: 'ok', message: `${host}:${port}${cluster ? ' (cluster)' : ''}${tls ? ' over TLS' : ''}` });
  return { config, checks, target: { host, port, tls, cluster, username, password: password ? '***' : undefined, caFile } };
}

export function deadlineStep(deadlineMs: number): Findings {
  return {
    checks: [
      {
        id: 'deadline',
        level: 'fail',
        message: `stopped at the ${deadlineMs} ms deadline before every check was done`,
        hint: 'the server accepts connections but answers too slowly or not at all: check its CPU and the network (docs/runbooks/incident-response.md); a larger --deadline-ms only waits longer.',
      },
    ],
  };
}

/** Connects and proves AUTH went through; on failure, says why from the real cause. */
async function connectStep({ client, config, overrides, options, firstError, stopped }: Probe): Promise<Findings> {
  try {
    const t = performance.now();
    await withTimeout(client.connect(), options.connectTimeoutMs ?? 5000, 'connecting');
    // a round trip proves AUTH went through, whatever the client does on connect
    await client.ping();
    return { checks: [{ id: 'connect', level: 'ok', message: `connected in ${Math.round(performance.now() - t)} ms` }] };
  } catch (error) {
    const cause = firstError() ?? error;
    client.disconnect();
    // a cluster client fails on a single server (no slots to read): say so, not "check the network"
    if (config.cluster && !stopped() && (await serverMode(config, overrides)) === 'standalone') {
      return {
        stop: true,
        checks: [
          { id: 'connect', level: 'fail', message: `cannot connect as a cluster client: ${errorText(cause)}`, hint: NOT_A_CLUSTER },
          { id: 'cluster-mode', level: 'fail', message: 'REDIS_CLUSTER is true but the server is not a cluster', hint: NOT_A_CLUSTER },
        ],
      };
    }
    return { stop: true, checks: [{ id: 'connect', level: 'fail', message: `cannot connect: ${errorText(cause)}`, hint: connectionHint(cause, config) }] };
  }
}

/** What the server is (version, mode, memory of every master) and how the connection is protected. */
async function serverStep({ client, config, options }: Probe): Promise<Findings> {
  const nodes = masterNodes(client);
  const tls = tlsOf(nodes[0]);
  try {
    const reports = await Promise.all(nodes.map(describeNode));
    const server = { version: reports[0]!.version, mode: reports[0]!.mode, nodes: reports };
    const checks: CheckResult[] = [];
    const versions = [...new Set(reports.map((r) => r.version))];
    const oldest = versions.reduce((a, b) => (compareVersions(a, b) <= 0 ? a : b));
    checks.push(
      compareVersions(oldest, '6.2') < 0
        ? { id: 'server-version', level: 'fail', message: `Redis ${oldest}: the limiter's client (ioredis 6) needs Redis >= 6.2`, hint: 'upgrade the engine (ElastiCache: modify the replication group, engine 7.1).' }
        : { id: 'server-version', level: 'ok', message: `Redis ${versions.join(', ')}` },
    );
    const serverCluster = reports.some((r) => r.mode === 'cluster');
    if (serverCluster !== config.cluster) {
      checks.push({
        id: 'cluster-mode',
        level: 'fail',
        message: serverCluster ? 'the server runs in cluster mode but the app is configured for a single server' : 'REDIS_CLUSTER is true but the server is not a cluster',
        hint: serverCluster ? IS_A_CLUSTER : NOT_A_CLUSTER,
      });
      return { tls, server, checks, stop: true };
    }
    checks.push({ id: 'cluster-mode', level: 'ok', message: serverCluster ? `cluster of ${reports.length} masters` : 'single server (cluster mode off)' });
    checks.push(tlsCheck(tls, config.host));
    checks.push(...memoryChecks(reports, options.memoryWarnRatio ?? 0.8));
    return { tls, server, checks };
  } catch (error) {
    return { tls, checks: [{ id: 'server-info', level: 'fail', message: `INFO failed: ${errorText(error)}`, hint: connectionHint(error, config) }] };
  }
}

/** Times rounds of PING, SET, GET, DEL on one short-lived key of the doctor's own, deleted each round. */
async function roundTripStep({ client, config, options, stopped }: Probe): Promise<Findings> {
  const iterations = options.iterations ?? 100;
  const goalMs = options.goalMs ?? 10;
  const key = `${options.keyPrefix ?? 'airl-doctor'}:{${randomBytes(6).toString('hex')}}:probe`;
  const samples: Record<Operation, number[]> = { ping: [], set: [], get: [], del: [] };
  const time = async <T>(op: Operation, run: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    const result = await run();
    samples[op].push(performance.now() - t);
    return result;
  };
  try {
    for (let i = 0; i < iterations; i++) {
      if (stopped()) return { checks: [], stop: true };
      await time('ping', () => client.ping());
      await time('set', () => client.set(key, 'ok', 'PX', 60_000));
      const value = await time('get', () => client.get(key));
      if (value !== 'ok') throw new Error(`GET returned ${JSON.stringify(value)} right after SET 'ok'`);
      await time('del', () => client.del(key));
    }
  } catch (error) {
    await client.del(key).catch(() => undefined);
    return { checks: [{ id: 'roundtrip', level: 'fail', message: `PING/SET/GET/DEL failed: ${errorText(error)}`, hint: connectionHint(error, config) }] };
  }
  const operations = Object.fromEntries(OPERATIONS.map((op) => [op, summarize(samples[op])])) as Record<Operation, LatencyStats>;
  const all = summarize(OPERATIONS.flatMap((op) => samples[op]));
  const slow = OPERATIONS.filter((op) => operations[op].p99 > goalMs);
  return {
    latency: { goalMs, iterations, operations, all },
    checks: [
      { id: 'roundtrip', level: 'ok', message: `${iterations} rounds of PING, SET, GET, DEL` },
      slow.length
        ? {
            id: 'latency',
            level: 'warn',
            message: `p99 over the ${goalMs} ms goal for ${slow.map((op) => `${op.toUpperCase()} (${operations[op].p99} ms)`).join(', ')}`,
            hint: "run the doctor from the app's own network (same VPC and AZ as the cache); check CPU and network alarms (docs/runbooks/incident-response.md).",
          }
        : { id: 'latency', level: 'ok', message: `p50 ${all.p50} ms, p99 ${all.p99} ms (goal p99 < ${goalMs} ms)` },
    ],
  };
}

/**
 * The limiter's own path: FCALL of its library (loaded if missing), or EVALSHA where the server
 * refuses functions, through one `peek` of a bare limiter (it writes nothing).
 */
async function scriptsStep({ client, options }: Probe): Promise<Findings> {
  try {
    const prefix = `${options.keyPrefix ?? 'airl-doctor'}-${randomBytes(6).toString('hex')}`;
    const store = createRedisStore({ client, prefix, timeout: options.commandTimeoutMs ?? 2000 });
    // no fallback to hide a failure, no subscriber, no log lines of its own
    let storeError: Error | undefined;
    const limiter = createRateLimiter({
      store,
      plans: { doctor: { limits: [{ name: 'probe', limit: 1, window: '1 m' }] } },
      whenStoreFails: 'closed',
      controls: false,
      topConsumers: false,
      denyCache: false,
      logger: false,
      onEvent: (e) => {
        if (e.type === 'store-error') storeError ??= e.error;
      },
    });
    const t = performance.now();
    const result = await limiter.peek('doctor', { plan: 'doctor' });
    const durationMs = Math.round((performance.now() - t) * 1000) / 1000;
    await limiter.close();
    if (storeError) throw storeError;
    if (!result.allowed || result.remaining !== 1) throw new Error(`peek on an empty key answered allowed=${result.allowed}, remaining=${result.remaining}`);
    const via = store.scripts === 'auto' ? undefined : store.scripts;
    return {
      scripts: { loaded: true, durationMs, via },
      checks: [
        {
          id: 'scripts',
          level: 'ok',
          message: `limiter scripts load and run as ${via === 'functions' ? 'a Functions library (FCALL)' : 'scripts (EVALSHA): this server refuses FUNCTION'} (${durationMs} ms)`,
        },
      ],
    };
  } catch (error) {
    const text = errorText(error);
    return {
      scripts: { loaded: false, durationMs: 0, via: undefined },
      checks: [
        {
          id: 'scripts',
          level: 'fail',
          message: `the limiter's scripts do not run: ${text}`,
          hint: /\bOOM\b|used memory > 'maxmemory'/.test(text)
            ? OUT_OF_MEMORY
            : /TIME|nondeterministic|not allowed/i.test(text)
              ? "this server rejects TIME in scripts: create the limiter with clock: 'local' and keep app clocks in sync."
              : 'EVAL/EVALSHA may be disabled for this user (ACL): allow @scripting.',
        },
      ],
    };
  }
}
