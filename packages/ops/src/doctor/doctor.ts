// The connection doctor: connects the way the app does (same environment variables, same client
// factory), times PING/SET/GET/DEL, reads what the server is and how it is set up, and loads the
// limiter's scripts. It writes only its own short-lived keys and deletes them.
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { TLSSocket } from 'node:tls';

import { createRateLimiter } from '@airl/ratelimit';
import { createRedisClient, createRedisStore, redisConfigFromEnv, type RedisConnectionConfig } from '@airl/ratelimit/redis';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

import { type CheckLevel, type CheckResult, worstLevel } from '../checks';
import { compareVersions } from '../versions';
import { type LatencyStats, summarize } from './stats';

export interface DoctorOptions {
  /**
   * Where the connection settings are read from, as the app reads them (`REDIS_URL`,
   * `REDIS_HOST`, `REDIS_TLS`, `REDIS_CLUSTER`, ...; see `redisConfigFromEnv`), plus
   * `REDIS_TLS_CA_FILE`: a PEM file of the CA to trust for TLS, for servers whose certificate no
   * public CA signed (ElastiCache's need none).
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Rounds of PING, SET, GET, DEL to time.
   * @default 100
   */
  iterations?: number;
  /**
   * The p99 each operation should stay under, in ms (the seed's goal for Redis operations).
   * @default 10
   */
  goalMs?: number;
  /**
   * Share of `maxmemory` in use from which memory counts as near full.
   * @default 0.8
   */
  memoryWarnRatio?: number;
  /**
   * How long connecting (TCP, TLS, AUTH) may take, in ms.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * How long one command may take, in ms.
   * @default 2000
   */
  commandTimeoutMs?: number;
  /**
   * Prefix of the doctor's own keys (a random part follows, in a hash tag).
   * @default 'airl-doctor'
   */
  keyPrefix?: string;
  /**
   * The whole run's bound, in ms: past it the doctor drops the connection and reports a `deadline`
   * failure, so a deploy step never waits on a server that stopped answering.
   * @default 30000
   */
  deadlineMs?: number;
}

/** What the doctor knows about one server (a cluster reports each master). */
export interface NodeReport {
  readonly address: string;
  readonly version: string;
  /** `standalone` or `cluster`, as the server says (`redis_mode`). */
  readonly mode: string;
  readonly role: string;
  readonly usedMemory: number;
  /** 0 means no limit. */
  readonly maxmemory: number;
  readonly maxmemoryPolicy: string;
}

export interface DoctorReport {
  /** The worst check: `ok`, `warn` or `fail`. */
  readonly status: CheckLevel;
  /** Where the doctor connected, password masked. */
  readonly target: {
    readonly host: string;
    readonly port: number;
    readonly tls: boolean;
    readonly cluster: boolean;
    readonly username: string | undefined;
    /** `'***'` when a password is configured: never the password. */
    readonly password: '***' | undefined;
    readonly caFile: string | undefined;
  } | undefined;
  readonly server: { readonly version: string; readonly mode: string; readonly nodes: readonly NodeReport[] } | undefined;
  readonly tls: { readonly enabled: boolean; readonly protocol: string | undefined } | undefined;
  readonly latency:
    | {
        readonly goalMs: number;
        readonly iterations: number;
        readonly operations: Readonly<Record<'ping' | 'set' | 'get' | 'del', LatencyStats>>;
        readonly all: LatencyStats;
      }
    | undefined;
  readonly scripts: { readonly loaded: boolean; readonly durationMs: number; readonly via: 'functions' | 'eval' | undefined } | undefined;
  readonly checks: readonly CheckResult[];
  readonly meta: { readonly timestamp: string; readonly durationMs: number };
}

type Client = Redis | Cluster;

const OPERATIONS = ['ping', 'set', 'get', 'del'] as const;

/** Parses an INFO reply into fields. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return fields;
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
const errorCode = (error: unknown) => (error as { code?: unknown } | undefined)?.code;

const CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

/** What to try when talking to Redis failed, from the error. */
export function connectionHint(error: unknown, config: RedisConnectionConfig): string {
  const text = errorText(error);
  const code = errorCode(error);
  const where = `${config.host}:${config.port}`;
  if (/\bOOM\b|used memory > 'maxmemory'/.test(text)) return OUT_OF_MEMORY;
  if (/cluster support disabled/i.test(text)) return NOT_A_CLUSTER;
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(text)) {
    return 'Redis refused the credentials: check REDIS_PASSWORD or REDIS_AUTH_TOKEN (and REDIS_USERNAME for an ACL user), or the password in REDIS_URL.';
  }
  if (typeof code === 'string' && CERT_CODES.has(code)) {
    return "the server's TLS certificate is not trusted or does not name this host: set REDIS_TLS_CA_FILE to the PEM file of the CA that signed it (ElastiCache's certificates need none), and connect by the name the certificate carries.";
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(text)) {
    return `${where} does not speak TLS: use redis:// and unset REDIS_TLS, or point at the TLS port.`;
  }
  if (code === 'ECONNREFUSED') {
    return `nothing listens on ${where}: check the host and port (ELASTICACHE_REDIS_PORT / REDIS_PORT, default 6379) and that the server runs.`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `the host name ${config.host} does not resolve: check REDIS_URL / REDIS_HOST (an ElastiCache endpoint looks like <name>.xxxxxx.ng.0001.use1.cache.amazonaws.com).`;
  }
  if (!config.tls && /ECONNRESET|Connection is closed|socket hang up/i.test(`${String(code)} ${text}`)) {
    return 'the server closed the connection at once: it may require TLS (ElastiCache with in-transit encryption does). Use rediss:// or set REDIS_TLS=true.';
  }
  return `no answer from ${where}. From AWS: the cache's security group must admit the app's security group on ${config.port}, and the app must run inside the cache's VPC (Amplify Hosting compute cannot; see docs/aws-deployment.md). Also check REDIS_TLS matches the cache's in-transit encryption.`;
}

const OUT_OF_MEMORY =
  "Redis is out of memory: used_memory reached maxmemory and the policy (noeviction) refuses writes, so every limit check fails and the limiter's failure policy answers. Scale up the node type or add shards (docs/runbooks/scaling.md), or find what fills it (redis-cli --bigkeys); do not switch to an evicting policy (an evicted window is free quota).";
const NOT_A_CLUSTER = 'REDIS_CLUSTER is true but the server is a single server (cluster mode off): unset REDIS_CLUSTER (or set it to false), or point at a cluster-mode configuration endpoint.';
const IS_A_CLUSTER = 'the server runs in cluster mode: set REDIS_CLUSTER=true and point at the configuration endpoint (stack output RedisHost).';

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`${what} took longer than ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Replaces every occurrence of `secret` (and its URL-encoded form) in every string of `value`. */
export function redact<T>(value: T, secret: string | undefined): T {
  if (!secret) return value;
  const forms = [...new Set([secret, encodeURIComponent(secret)])];
  const clean = (v: unknown): unknown => {
    if (typeof v === 'string') return forms.reduce((s, f) => s.split(f).join('***'), v);
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clean(x)]));
    return v;
  };
  return clean(value) as T;
}

function masterNodes(client: Client): Redis[] {
  return client.isCluster ? (client as Cluster).nodes('master') : [client as Redis];
}

async function describeNode(node: Redis): Promise<NodeReport> {
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

function tlsOf(node: Redis | undefined): { enabled: boolean; protocol: string | undefined } {
  const stream: unknown = node?.stream;
  if (stream instanceof TLSSocket) return { enabled: true, protocol: stream.getProtocol() ?? undefined };
  return { enabled: false, protocol: undefined };
}

const MB = 1024 * 1024;
const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;

/** The memory checks of one run: eviction policy and fill level of every master. */
function memoryChecks(nodes: readonly NodeReport[], warnRatio: number): CheckResult[] {
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
async function serverMode(config: RedisConnectionConfig, overrides: RedisOptions): Promise<string | undefined> {
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

/** Runs every check against the Redis the environment points at. Never throws; resolves within `deadlineMs` (and a moment to close). */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const iterations = options.iterations ?? 100;
  const goalMs = options.goalMs ?? 10;
  const checks: CheckResult[] = [];
  // filled in as the checks get that far
  const found: { -readonly [K in 'target' | 'server' | 'tls' | 'latency' | 'scripts']: DoctorReport[K] } = {
    target: undefined,
    server: undefined,
    tls: undefined,
    latency: undefined,
    scripts: undefined,
  };
  let config: RedisConnectionConfig | undefined;

  const finish = (): DoctorReport =>
    redact(
      {
        status: worstLevel(checks),
        ...found,
        // a copy: a probe cut off by the deadline may still be settling
        checks: [...checks],
        meta: { timestamp: new Date().toISOString(), durationMs: Math.round(performance.now() - started) },
      },
      config?.password,
    );

  try {
    config = redisConfigFromEnv(env);
  } catch (error) {
    checks.push({ id: 'config', level: 'fail', message: errorText(error) });
    return finish();
  }
  if (!config) {
    checks.push({
      id: 'config',
      level: 'fail',
      message: 'no Redis is configured',
      hint: 'set REDIS_URL (redis://host:6379, rediss:// for TLS), or ELASTICACHE_REDIS_HOST / REDIS_HOST with REDIS_TLS and REDIS_AUTH_TOKEN as needed.',
    });
    return finish();
  }
  const caFile = config.caFile;
  found.target = {
    host: config.host,
    port: config.port,
    tls: config.tls,
    cluster: config.cluster,
    username: config.username,
    password: config.password ? '***' : undefined,
    caFile,
  };
  if (caFile && !config.tls) {
    checks.push({ id: 'config', level: 'warn', message: 'REDIS_TLS_CA_FILE is set but TLS is off', hint: 'use rediss:// or REDIS_TLS=true, or unset REDIS_TLS_CA_FILE.' });
  }
  checks.push({ id: 'config', level: 'ok', message: `${config.host}:${config.port}${config.cluster ? ' (cluster)' : ''}${config.tls ? ' over TLS' : ''}` });

  const deadlineMs = options.deadlineMs ?? 30_000;
  // fail fast, once: the doctor reports what is wrong instead of waiting through reconnects
  const overrides: RedisOptions = {
    connectTimeout: options.connectTimeoutMs ?? 5000,
    commandTimeout: options.commandTimeoutMs ?? 2000,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  };
  let client: ReturnType<typeof createRedisClient>;
  try {
    client = createRedisClient(config, overrides);
  } catch (error) {
    checks.push({ id: 'config', level: 'fail', message: errorText(error) });
    return finish();
  }
  // ioredis rejects with a bare 'Connection is closed.'; the first error event says why
  let firstError: unknown;
  const remember = (error: unknown) => {
    firstError ??= error;
  };
  client.on('error', remember);
  client.on('node error', remember);

  // every path ends by closing the client: an open socket would keep the process (and the deploy
  // step) waiting after the report is out
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    timer = setTimeout(() => {
      expired = true;
      client.disconnect();
      resolve('deadline');
    }, deadlineMs);
  });
  const outcome = await Promise.race([probe(client, config, () => expired), deadline]);
  clearTimeout(timer);
  if (outcome === 'deadline') {
    checks.push({
      id: 'deadline',
      level: 'fail',
      message: `stopped at the ${deadlineMs} ms deadline before every check was done`,
      hint: 'the server accepts connections but answers too slowly or not at all: check its CPU and the network (docs/runbooks/incident-response.md); a larger --deadline-ms only waits longer.',
    });
    return finish();
  }
  await withTimeout(client.quit(), 1000, 'closing').catch(() => client.disconnect());
  return finish();

  async function probe(client: Client, config: RedisConnectionConfig, stopped: () => boolean): Promise<void> {
    try {
      const t = performance.now();
      await withTimeout(client.connect(), options.connectTimeoutMs ?? 5000, 'connecting');
      // a round trip proves AUTH went through, whatever the client does on connect
      await client.ping();
      checks.push({ id: 'connect', level: 'ok', message: `connected in ${Math.round(performance.now() - t)} ms` });
    } catch (error) {
      const cause = firstError ?? error;
      client.disconnect();
      // a cluster client fails on a single server (no slots to read): say so, not "check the network"
      if (config.cluster && !stopped() && (await serverMode(config, overrides)) === 'standalone') {
        checks.push({ id: 'connect', level: 'fail', message: `cannot connect as a cluster client: ${errorText(cause)}`, hint: NOT_A_CLUSTER });
        checks.push({ id: 'cluster-mode', level: 'fail', message: 'REDIS_CLUSTER is true but the server is not a cluster', hint: NOT_A_CLUSTER });
        return;
      }
      checks.push({ id: 'connect', level: 'fail', message: `cannot connect: ${errorText(cause)}`, hint: connectionHint(cause, config) });
      return;
    }

    try {
      const nodes = masterNodes(client);
      const tls = tlsOf(nodes[0]);
      found.tls = tls;
      const reports = await Promise.all(nodes.map(describeNode));
      const first = reports[0]!;
      found.server = { version: first.version, mode: first.mode, nodes: reports };
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
        return;
      }
      checks.push({ id: 'cluster-mode', level: 'ok', message: serverCluster ? `cluster of ${reports.length} masters` : 'single server (cluster mode off)' });
      if (tls.enabled) checks.push({ id: 'tls', level: 'ok', message: `encrypted (${tls.protocol ?? 'TLS'})` });
      else if (isLoopback(config.host)) checks.push({ id: 'tls', level: 'ok', message: 'not encrypted (loopback only)' });
      else {
        checks.push({
          id: 'tls',
          level: 'warn',
          message: 'not encrypted: limiter traffic and the AUTH token cross the network in clear',
          hint: 'enable in-transit encryption (ElastiCache TransitEncryptionEnabled; packages/infra does) and use rediss://.',
        });
      }
      checks.push(...memoryChecks(reports, options.memoryWarnRatio ?? 0.8));
    } catch (error) {
      checks.push({ id: 'server-info', level: 'fail', message: `INFO failed: ${errorText(error)}`, hint: connectionHint(error, config) });
    }

    const id = randomBytes(6).toString('hex');
    const prefix = options.keyPrefix ?? 'airl-doctor';
    const key = `${prefix}:{${id}}:probe`;
    const samples: Record<(typeof OPERATIONS)[number], number[]> = { ping: [], set: [], get: [], del: [] };
    const time = async <T>(op: (typeof OPERATIONS)[number], run: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const result = await run();
      samples[op].push(performance.now() - t);
      return result;
    };
    try {
      const c = client;
      for (let i = 0; i < iterations; i++) {
        if (stopped()) return;
        await time('ping', () => c.ping());
        await time('set', () => c.set(key, 'ok', 'PX', 60_000));
        const value = await time('get', () => c.get(key));
        if (value !== 'ok') throw new Error(`GET returned ${JSON.stringify(value)} right after SET 'ok'`);
        await time('del', () => c.del(key));
      }
      const operations = Object.fromEntries(OPERATIONS.map((op) => [op, summarize(samples[op])])) as Record<(typeof OPERATIONS)[number], LatencyStats>;
      const all = summarize(OPERATIONS.flatMap((op) => samples[op]));
      found.latency = { goalMs, iterations, operations, all };
      checks.push({ id: 'roundtrip', level: 'ok', message: `${iterations} rounds of PING, SET, GET, DEL` });
      const slow = OPERATIONS.filter((op) => operations[op].p99 > goalMs);
      checks.push(
        slow.length
          ? {
              id: 'latency',
              level: 'warn',
              message: `p99 over the ${goalMs} ms goal for ${slow.map((op) => `${op.toUpperCase()} (${operations[op].p99} ms)`).join(', ')}`,
              hint: 'run the doctor from the app\'s own network (same VPC and AZ as the cache); check CPU and network alarms (docs/runbooks/incident-response.md).',
            }
          : { id: 'latency', level: 'ok', message: `p50 ${all.p50} ms, p99 ${all.p99} ms (goal p99 < ${goalMs} ms)` },
      );
    } catch (error) {
      checks.push({ id: 'roundtrip', level: 'fail', message: `PING/SET/GET/DEL failed: ${errorText(error)}`, hint: connectionHint(error, config) });
      await client.del(key).catch(() => undefined);
    }

    try {
      // the limiter's own path: FCALL of its library (loaded if missing), or EVALSHA where the
      // server refuses functions; peek writes nothing
      const store = createRedisStore({ client, prefix: `${prefix}-${id}`, timeout: options.commandTimeoutMs ?? 2000 });
      // a bare limiter: no fallback to hide a failure, no subscriber, no log lines of its own
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
      found.scripts = { loaded: true, durationMs, via };
      checks.push({
        id: 'scripts',
        level: 'ok',
        message: `limiter scripts load and run as ${via === 'functions' ? 'a Functions library (FCALL)' : 'scripts (EVALSHA): this server refuses FUNCTION'} (${durationMs} ms)`,
      });
    } catch (error) {
      found.scripts = { loaded: false, durationMs: 0, via: undefined };
      const text = errorText(error);
      checks.push({
        id: 'scripts',
        level: 'fail',
        message: `the limiter's scripts do not run: ${text}`,
        hint: /\bOOM\b|used memory > 'maxmemory'/.test(text)
          ? OUT_OF_MEMORY
          : /TIME|nondeterministic|not allowed/i.test(text)
          ? "this server rejects TIME in scripts: create the limiter with clock: 'local' and keep app clocks in sync."
          : 'EVAL/EVALSHA may be disabled for this user (ACL): allow @scripting.',
      });
    }

  }
}
