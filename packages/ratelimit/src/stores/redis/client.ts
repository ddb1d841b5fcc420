// The few things the Redis store asks of a client library. An adapter per library (ioredis,
// node-redis) implements it; `adaptClient` (adapt.ts) picks one from the object it is given. GLIDE's
// adapter (glide.ts) is made by the app, from GLIDE's configuration; another client (a proxy) plugs in
// by implementing this interface. The adapters import their library's
// types only: neither library is loaded unless the app passes its client.
import type { Cluster as IoCluster, Redis as IoRedis } from 'ioredis';
import type { RedisClientType, RedisClusterType } from 'redis';

export type Arg = string | number;

/** A Lua script as the store sends it: by EVALSHA, by EVAL after NOSCRIPT. */
export interface Script {
  readonly lua: string;
  /** SHA-1 of `lua`, hex. */
  readonly sha: string;
}

/** What the Redis store needs from a client. Every key of one call is in one cluster slot. */
export interface RedisStoreClient {
  /** `'ioredis'`, `'node-redis'`, ... for diagnostics. */
  readonly library: string;
  /** A cluster client: checks then go one call each (pipelined per node), and plans always with their definition. */
  readonly cluster: boolean;
  /** Sends one command; `key` is one of its keys (routes it on a cluster), undefined when it has none. */
  send(key: string | undefined, args: readonly Arg[]): Promise<unknown>;
  /**
   * Optional: sends commands over different keys together, each with its own reply or error, in
   * order. On a cluster, those whose keys sit on one node as one pipeline, written at once
   * (ioredis). Without it the store calls `send` for each in the same tick, which node-redis and
   * GLIDE already write together per connection.
   */
  sendEach?(commands: readonly { readonly key: string; readonly args: readonly Arg[] }[]): Promise<unknown>[];
  /** Sends commands over one key back to back (a pipeline, not a transaction); rejects with the first error. */
  pipeline(key: string, commands: readonly (readonly Arg[])[]): Promise<unknown[]>;
  /** Runs `script` by EVALSHA, sending it by EVAL after NOSCRIPT; `args` are numkeys, keys, arguments. */
  evalScript(script: Script, key: string, args: readonly Arg[]): Promise<unknown>;
  /** Sends a command to every master (FUNCTION LOAD: a cluster's shards do not share functions). */
  everyMaster(args: readonly Arg[]): Promise<unknown[]>;
  /**
   * Opens a second connection subscribed to `channel`: `message` gets each message; `missed` is
   * called when messages may have been lost (a reconnect). `subscribed` settles with the first
   * SUBSCRIBE; after a failure the connection keeps trying, and calls `missed` once subscribed.
   */
  subscribe(channel: string, handlers: { message: (text: string) => void; missed: () => void }): { subscribed: Promise<void>; close(): Promise<void> };
  /** `host:port` of the master serving a slot, as the client last learnt it; undefined when not a cluster or not known yet. */
  masterOf(slot: number): string | undefined;
  /** `host:port` of every master serving slots (empty when not a cluster). */
  masters(): readonly string[];
  /** Whether the connection to a master (`host:port`), or for `''` the client's, is up; undefined when it cannot tell. */
  connected(node: string): boolean | undefined;
  /** Closes the client's connections. */
  quit(): Promise<void>;
}

/** An ioredis client, standalone or cluster. */
export type IoRedisClient = IoRedis | IoCluster;
/** A node-redis (`redis` package) client, standalone or cluster. */
export type NodeRedisClient = RedisClientType<any, any, any, any, any> | RedisClusterType<any, any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** Any client the store adapts by itself, or an adapter. */
export type AnyRedisClient = IoRedisClient | NodeRedisClient | RedisStoreClient;

/** `evalScript` over a client's `send`: EVALSHA, and EVAL when the server answers NOSCRIPT. */
export function evalBySha(send: RedisStoreClient['send']): RedisStoreClient['evalScript'] {
  return async (script, key, args) => {
    try {
      return await send(key, ['EVALSHA', script.sha, ...args]);
    } catch (error) {
      if (!(error as Error).message.startsWith('NOSCRIPT')) throw error;
      return send(key, ['EVAL', script.lua, ...args]);
    }
  };
}
