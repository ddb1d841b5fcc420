// Redis store (standalone or cluster; ioredis, node-redis, or any client behind the
// RedisStoreClient interface): one Lua function per atomic step, each one round trip. Every key of
// an identifier shares one hash tag, so a check is one script on one cluster slot.
// cluster-key-slot ships no types: every package that compiles this file finds them through here
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../../types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';

import { type Duration, toMs } from '../../duration';
import { RateLimitConfigError } from '../../errors';
import { decodeInspect, decodeSettle, denialEntry, encodeCheck, encodeInspect, encodeReset, encodeSettle } from '../../lua/protocol';
import { DENIALS_KEPT, type EvaluateOutput } from '../../model';
import type { CompiledLimit } from '../../plan';
import { decidingOutcome } from '../../result';
import type { ControlStore, DocumentStore, LimitingStore, StreamStore, UsageStore } from '../types';
import { redisBoards, redisPresence } from './boards';
import { checkSender } from './checks';
import { adaptClient } from './adapt';
import type { AnyRedisClient, IoRedisClient, RedisStoreClient } from './client';
import { redisControls } from './controls';
import { redisDocuments } from './documents';
import { asStoreError, deadlines } from './deadline';
import { type IdentifierKeyNames, keyNames } from './keys';
import { type ScriptMode, scriptRunner } from './scripts';

export { encodeIdentifier } from './keys';
export type { Arg, AnyRedisClient, IoRedisClient, NodeRedisClient, RedisStoreClient, Script } from './client';

/** An ioredis client, standalone or cluster (the store's first client library). */
export type RedisClient = IoRedisClient;

export interface RedisStoreOptions<C extends AnyRedisClient = AnyRedisClient> {
  /**
   * The client, or a function that makes one; the function runs on first use, never at import, so
   * nothing connects during a build. One of: an ioredis `Redis` or `Cluster`; a node-redis client
   * or cluster (`createClient()` / `createCluster()` of the `redis` package; connected on first use
   * if it is not yet); or an object implementing {@link RedisStoreClient} for any other client.
   * The store closes the client on `close()` only if it made it.
   */
  client: C | (() => C);
  /**
   * Prefix of every key; keys look like `<prefix>:{<identifier>}` and `<prefix>:{<identifier>}:log3:<limit>`.
   * Give each test run or app its own to keep their data apart.
   * @default 'ratelimit'
   */
  prefix?: string;
  /**
   * The longest one call may take before it fails with `RateLimitStoreError`, whatever the
   * client's own settings (including while it reconnects). A limiter's call gets this much in all,
   * whatever number of store calls it makes (see the package README, "When Redis fails").
   * @default '1 s'
   */
  timeout?: Duration;
  /**
   * How the Lua runs. `'functions'`: one Redis Functions library (Redis >= 7), loaded on first use
   * and after a restart or on a new shard; its helpers are defined once, not on every call, which
   * saves Redis about 2 µs per check (docs/benchmarks.md). `'eval'`: scripts by EVALSHA (EVAL after
   * NOSCRIPT). `'auto'` uses functions and switches to scripts where the server refuses them
   * (Redis 6.2, or an ACL without FUNCTION).
   * @default 'auto'
   */
  scripts?: ScriptMode;
  /**
   * Checks started in the same tick of the event loop go to Redis together, in calls of up to
   * this many checks (each still atomic, run one after the other in the order they started): a
   * call goes as soon as it is full, so Redis runs it while Node starts the next, and the rest
   * when the tick ends; a lone check goes alone. Under load this saves most of the per-command
   * cost, in Node and in Redis; 16 kept Node and Redis both busy in the bench (100 calls in
   * flight: 1.8x the checks/s of 64 sent at the end of the tick). A failed call fails every check
   * it carried. A cluster sends
   * every check as its own call (their keys are in different slots), those of one node in one
   * pipeline (ioredis; node-redis and GLIDE write a tick's commands together by themselves).
   * `1` turns batching off.
   * @default 16
   */
  batch?: number;
}

// every concern: limiting, controls, usage boards, streams, documents (live plans)
export interface RedisStore<C extends AnyRedisClient = RedisClient> extends LimitingStore, ControlStore, UsageStore, StreamStore, DocumentStore {
  readonly kind: 'redis';
  /** The client as given (or made on first use). */
  client(): C;
  /**
   * How the Lua runs: `'functions'` or `'eval'`, or `'auto'` before the first call has found out
   * (the connection doctor reports it).
   */
  readonly scripts: ScriptMode;
  /** Keys of one identifier: its state hash, its reservation index, and the list of a sliding-log limit. */
  keys(identifier: string): IdentifierKeyNames;
  /** Stops the timeout sweeper and the subscriber; closes the client if the store made it. */
  close(): Promise<void>;
  readonly timeoutMs: number;
  shardOf(identifier: string): string;
  shards(): ReadonlySet<string>;
  connected(shard: string): boolean | undefined;
}

/** Creates a store on Redis or Redis Cluster, through ioredis, node-redis or a {@link RedisStoreClient}. */
export function createRedisStore<C extends AnyRedisClient = RedisClient>(options: RedisStoreOptions<C>): RedisStore<C> {
  const keys = keyNames(options.prefix ?? 'ratelimit');
  const timeoutMs = toMs(options.timeout ?? '1 s', 'timeout');
  const batchMax = options.batch ?? 16;
  if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > 1000) {
    throw new RateLimitConfigError(`batch: ${String(options.batch)} must be a whole number of checks from 1 (no batching) to 1000`);
  }
  const owned = typeof options.client === 'function';
  let raw: C | undefined;
  let client: RedisStoreClient | undefined;
  const rawClient = (): C => (raw ??= typeof options.client === 'function' ? options.client() : options.client);
  const adapted = (): RedisStoreClient => (client ??= adaptClient(rawClient(), owned));

  const timeouts = deadlines(timeoutMs);
  const within = timeouts.within;
  const runner = scriptRunner(options.scripts ?? 'auto');
  const check = checkSender(runner, batchMax, timeouts);
  const controls = redisControls(adapted, within, keys);

  /**
   * Keeps the last denials for admins, on the denial path only (a separate small write: the check
   * script must not declare a key it would only sometimes touch). Best effort.
   */
  async function recordDenial(k: IdentifierKeyNames, limits: readonly CompiledLimit[], outcomes: EvaluateOutput['limits'], now: number, ttlMs: number) {
    const denier = decidingOutcome(outcomes, limits, now);
    if (denier === -1 || outcomes[denier]!.fits) return;
    await adapted()
      .pipeline(k.denials, [
        ['LPUSH', k.denials, denialEntry(now, limits[denier]!.name)],
        ['LTRIM', k.denials, 0, DENIALS_KEPT - 1],
        ['PEXPIRE', k.denials, ttlMs],
      ])
      .catch(() => undefined);
  }

  return {
    kind: 'redis',
    timeoutMs,
    shardOf(identifier) {
      // before the cluster client knows its slots, or on one server: one shard
      if (!client?.cluster) return '';
      return client.masterOf(calculateSlot(keys.identifier(identifier).state)) ?? '';
    },
    shards() {
      // '' stands for "not known yet" (no slots learnt): always a shard
      return new Set(['', ...(client?.cluster ? client.masters() : [])]);
    },
    connected(shard) {
      return client?.connected(shard);
    },
    ...redisPresence(adapted, within, keys),
    get scripts() {
      return runner.mode;
    },
    client: rawClient,
    keys: keys.identifier,
    async evaluate(request) {
      const k = keys.identifier(request.identifier);
      // watched for its deadline in the tick's batch (see batches.ts), not by `within`: a promise,
      // two closures and a turn less per check (about a tenth of the log's engine CPU)
      let answer: Promise<EvaluateOutput>;
      try {
        answer = check(adapted(), encodeCheck(request, k), request.deadline);
      } catch (error) {
        throw asStoreError('check', error);
      }
      const output = await answer;
      // best effort, after the answer: never part of the call's time
      if (!output.allowed && request.mode !== 'peek') void recordDenial(k, request.limits, output.limits, output.now, request.stateTtlMs);
      return output;
    },
    async settle(request) {
      const args = encodeSettle(request, keys.identifier(request.identifier));
      return decodeSettle(await within('settle', () => runner.run(adapted(), 'settle', args), request.deadline));
    },
    async reset(request) {
      const args = encodeReset(request, keys.identifier(request.identifier));
      await within('reset', () => runner.run(adapted(), 'reset', args));
    },
    async inspect(identifier, now) {
      const args = encodeInspect(keys.identifier(identifier), now);
      return decodeInspect(await within('inspect', () => runner.run(adapted(), 'inspect', args)));
    },
    ...controls.methods,
    ...redisDocuments(adapted, within, keys),
    ...redisBoards(adapted, within, keys),
    async close() {
      timeouts.stop();
      await controls.stop();
      if (client && owned) await client.quit();
      client = undefined;
      raw = undefined;
    },
  };
}
