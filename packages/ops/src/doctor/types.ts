// What the doctor takes and what it reports.
import type { CheckLevel, CheckResult } from '../checks';
import type { LatencyStats } from './stats';

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
