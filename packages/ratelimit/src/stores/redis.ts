// Redis store (ioredis 6, standalone or cluster): one Lua function per atomic step, each one
// round trip (FCALL of a library loaded on first use; or EVALSHA). Every key of an identifier
// shares one hash tag, so a check is one script on one cluster slot.
// cluster-key-slot ships no types: every package that compiles this file finds them through here
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';

import { type Duration, toMs } from '../duration';
import { RateLimitConfigError, RateLimitStoreError } from '../errors';
import { type CheckCall, decodeChecks, encodeCheck, limitArgs, PLAN_AT, parseReservation, SETTLE_STATUS } from '../lua/protocol';
import * as scripts from '../lua/scripts.generated';
import { DENIALS_KEPT, type EvaluateOutput } from '../model';
import { AlgorithmCode, type CompiledLimit } from '../policy';
import type { Control, Store, StoreInspection, StreamEntry } from './types';

export type RedisClient = Redis | Cluster;

export interface RedisStoreOptions {
  /**
   * The ioredis client (`Redis` or `Cluster`) to use, or a function that makes one; the function
   * runs on first use, never at import, so nothing connects during a build. The store defines its
   * scripts on the client; it closes the client on `close()` only if it made it.
   */
  client: RedisClient | (() => RedisClient);
  /**
   * Prefix of every key; keys look like `<prefix>:{<identifier>}` and `<prefix>:{<identifier>}:log:<limit>`.
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
   * makes a check about a third cheaper for Redis. `'eval'`: scripts by EVALSHA (EVAL after
   * NOSCRIPT). `'auto'` uses functions and switches to scripts where the server refuses them
   * (Redis 6.2, or an ACL without FUNCTION).
   * @default 'auto'
   */
  scripts?: 'auto' | 'functions' | 'eval';
  /**
   * Checks started in the same tick of the event loop go to Redis together, as one call of up to
   * this many checks (each still atomic, run one after the other in the order they started):
   * under load this saves most of the per-command cost, in Node and in Redis; a lone check goes
   * alone, as soon as the tick ends. A failed call fails every check it carried. A cluster sends
   * every check alone (their keys are in different slots). `1` turns batching off.
   * @default 64
   */
  batch?: number;
}

export interface RedisStore extends Store {
  readonly kind: 'redis';
  /** The client, created on first use. */
  client(): RedisClient;
  /**
   * How the Lua runs: `'functions'` or `'eval'`, or `'auto'` before the first call has found out
   * (the connection doctor reports it).
   */
  readonly scripts: 'auto' | 'functions' | 'eval';
  /** Keys of one identifier: its state hash, its reservation index, and the list of a sliding-log limit. */
  keys(identifier: string): { state: string; reservations: string; denials: string; log(limit: string): string };
}

type ScriptName = keyof typeof scripts.library.functions;
type Args = (string | number)[];

interface ScriptClient {
  rlCheck(...args: Args): Promise<unknown>;
  rlChecks(...args: Args): Promise<unknown>;
  rlSettle(...args: Args): Promise<unknown>;
  rlReset(...args: Args): Promise<unknown>;
  rlInspect(...args: Args): Promise<unknown>;
}

const EVAL_COMMAND = { check: 'rlCheck', checks: 'rlChecks', settle: 'rlSettle', reset: 'rlReset', inspect: 'rlInspect' } as const satisfies Record<ScriptName, keyof ScriptClient>;

/** The server cannot run functions: an old Redis, or an ACL without FUNCTION / FCALL. */
const functionsRefused = (error: unknown) => /unknown command|NOPERM|no permissions/i.test((error as Error).message);

function parseControl(json: string | null | undefined): Control | undefined {
  if (!json) return undefined;
  try {
    const c = JSON.parse(json) as Control;
    // anything else (written by another version) is no control at all
    const decided = (d: unknown) => typeof d === 'object' && d !== null && typeof (d as { until?: unknown }).until === 'number';
    return decided(c.override) || decided(c.block) ? c : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Encodes an identifier for use inside a hash tag: `%`, `{` and `}` are percent-encoded, so no
 * identifier can end the tag early, and two identifiers never share an encoding.
 */
const ESCAPED = /[%{}]/;
export function encodeIdentifier(identifier: string): string {
  return ESCAPED.test(identifier) ? identifier.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : identifier;
}

/** Creates a store on Redis or Redis Cluster. */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const prefix = options.prefix ?? 'ratelimit';
  if (!/^[^{}\s]{1,64}$/.test(prefix)) {
    throw new RateLimitConfigError(`prefix: '${prefix}' must be 1 to 64 characters without spaces, '{' or '}'`);
  }
  const timeoutMs = toMs(options.timeout ?? '1 s', 'timeout');
  const batchMax = options.batch ?? 64;
  if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > 1000) {
    throw new RateLimitConfigError(`batch: ${String(options.batch)} must be a whole number of checks from 1 (no batching) to 1000`);
  }
  const owned = typeof options.client === 'function';
  let client: (RedisClient & ScriptClient) | undefined;

  const get = () => {
    if (!client) {
      const c = typeof options.client === 'function' ? options.client() : options.client;
      // a client made here reports failures through the limiter, not ioredis's console warning
      if (owned) c.on('error', () => undefined);
      c.defineCommand('rlCheck', { lua: scripts.check });
      c.defineCommand('rlChecks', { lua: scripts.checks });
      c.defineCommand('rlSettle', { lua: scripts.settle });
      c.defineCommand('rlReset', { lua: scripts.reset });
      c.defineCommand('rlInspect', { lua: scripts.inspect });
      client = c as RedisClient & ScriptClient;
    }
    return client;
  };

  const controlKey = `${prefix}:control`;
  const channel = `${prefix}:control`;
  const boardKey = (board: string) => `${prefix}:board:${board}`;
  const streamKey = (stream: string, identifier?: string) =>
    identifier === undefined ? `${prefix}:stream:${stream}` : `${keys(identifier).state}:stream:${stream}`;
  let subscriber: RedisClient | undefined;
  const listeners = new Set<(identifier: string | undefined) => void>();

  let mode = options.scripts ?? 'auto';
  let loading: Promise<unknown> | undefined;

  /** Loads the library on every master (a cluster's shards do not share functions). */
  const loadLibrary = (c: RedisClient) =>
    (loading ??= Promise.all((c instanceof Cluster ? c.nodes('master') : [c]).map((node) => node.call('FUNCTION', 'LOAD', 'REPLACE', scripts.library.source))).finally(
      () => (loading = undefined),
    ));

  /** Runs one of the scripts: FCALL, loading the library when missing, or EVALSHA. */
  async function script(c: RedisClient & ScriptClient, name: ScriptName, args: Args): Promise<unknown> {
    if (mode !== 'eval') {
      try {
        const reply = await c.call('FCALL', scripts.library.functions[name], ...args);
        used = 'functions';
        return reply;
      } catch (error) {
        if (/function not found/i.test((error as Error).message)) {
          try {
            await loadLibrary(c);
            const reply = await c.call('FCALL', scripts.library.functions[name], ...args);
            used = 'functions';
            return reply;
          } catch (loadError) {
            if (mode !== 'auto' || !functionsRefused(loadError)) throw loadError;
          }
        } else if (mode !== 'auto' || !functionsRefused(error)) throw error;
        mode = 'eval';
      }
    }
    const reply = await c[EVAL_COMMAND[name]](...args);
    used = 'eval';
    return reply;
  }

  // checks waiting for the end of this tick, to go to Redis together
  interface Queued {
    readonly call: CheckCall;
    readonly resolve: (output: EvaluateOutput) => void;
    readonly reject: (error: unknown) => void;
  }
  let queued: Queued[] = [];

  // plans a server has answered for: sent by id alone. Others go with their definition, so a
  // first use costs no extra round trip (and concurrent first uses keep their order). A cluster
  // always sends definitions: its shards each have their own library, and a retry after "plan
  // unknown" would let a check overtake one started before it.
  const knownPlans = new Set<string>();

  /**
   * Sends checks as one call (`check` for one, `checks` for several), each naming its plan by id
   * (by definition when not known to be known); those from the first whose plan the library did
   * not know (reloaded since, another shard, or EVAL, which keeps nothing) go again with theirs.
   */
  function sendChecks(c: RedisClient & ScriptClient, calls: readonly Queued[], definitions: boolean): void {
    // one array for the command: numkeys, every check's keys, then every check's arguments
    let keys = 0;
    for (const { call } of calls) keys += call.keys.length;
    const command: (string | number)[] = [keys];
    for (const { call } of calls) for (const key of call.keys) command.push(key);
    for (const { call } of calls) {
      const full = definitions || c instanceof Cluster || !knownPlans.has(call.plan.id);
      for (let i = 0; i < call.args.length; i++) command.push(i === PLAN_AT && full ? call.plan.full : call.args[i]!);
    }
    script(c, calls.length === 1 ? 'check' : 'checks', command).then(
      (reply) => {
        const outputs: EvaluateOutput[] = [];
        const ran = decodeChecks(reply, calls, outputs);
        for (let i = 0; i < ran; i++) {
          if (used === 'functions') knownPlans.add(calls[i]!.call.plan.id);
          calls[i]!.resolve(outputs[i]!);
        }
        if (ran === calls.length) return;
        knownPlans.delete(calls[ran]!.call.plan.id);
        if (definitions) for (const q of calls.slice(ran)) q.reject(new Error('the Redis library refused a plan definition'));
        else sendChecks(c, calls.slice(ran), true);
      },
      (error: unknown) => {
        for (const call of calls) call.reject(error);
      },
    );
  }

  const sendQueued = (c: RedisClient & ScriptClient) => {
    const all = queued;
    queued = [];
    for (let from = 0; from < all.length; from += batchMax) sendChecks(c, all.slice(from, from + batchMax), mode === 'eval');
  };

  /** A check.lua call, sent with the others of this tick (see `batch`). */
  function check(c: RedisClient & ScriptClient, call: CheckCall): Promise<EvaluateOutput> {
    return new Promise((resolve, reject) => {
      if (batchMax === 1 || c instanceof Cluster) {
        sendChecks(c, [{ call, resolve, reject }], mode === 'eval');
        return;
      }
      queued.push({ call, resolve, reject });
      // after the promise callbacks of this tick have run: their checks join this one
      if (queued.length === 1) process.nextTick(sendQueued, c);
    });
  }

  const keys = (identifier: string) => {
    const state = `${prefix}:{${encodeIdentifier(identifier)}}`;
    return { state, reservations: `${state}:res`, denials: `${state}:dn`, log: (limit: string) => `${state}:log:${limit}` };
  };

  /**
   * Keeps the last denials for admins, on the denial path only (a separate small write: the check
   * script must not declare a key it would only sometimes touch). Best effort.
   */
  async function recordDenial(k: ReturnType<typeof keys>, limits: readonly CompiledLimit[], outcomes: EvaluateOutput['limits'], now: number, ttlMs: number) {
    let denier = -1;
    outcomes.forEach((o, i) => {
      if (!o.fits && (denier === -1 || o.resetAt > outcomes[denier]!.resetAt)) denier = i;
    });
    if (denier === -1) return;
    await get()
      .pipeline()
      .lpush(k.denials, `${now}:${limits[denier]!.name}`)
      .ltrim(k.denials, 0, DENIALS_KEPT - 1)
      .pexpire(k.denials, ttlMs)
      .exec()
      .catch(() => undefined);
  }

  // Calls in flight and when each must have answered (performance.now(): a wall clock step must
  // not cut a call short or stretch it). One timer sweeps them while any is in flight: a timer per
  // call costs more than the rest of the call's own work.
  const inFlight = new Set<{ deadline: number; what: string; reject: (error: Error) => void }>();
  const sweepMs = Math.min(50, Math.max(5, Math.floor(timeoutMs / 10)));
  let sweeper: NodeJS.Timeout | undefined;
  const timedOut = (what: string) => new RateLimitStoreError(`Redis did not answer ${what} in time (timeout ${timeoutMs} ms)`);
  const sweep = () => {
    const now = performance.now();
    for (const c of inFlight) {
      if (c.deadline > now) continue;
      inFlight.delete(c);
      c.reject(timedOut(c.what));
    }
    if (inFlight.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  /**
   * Runs a store call within `timeout`, or by `deadline` (performance.now()) when that is sooner,
   * give or take one sweep; fails as a RateLimitStoreError. Past its deadline, nothing is sent.
   */
  function call<T>(what: string, run: (c: RedisClient & ScriptClient) => Promise<T>, deadline = Infinity): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const watched = { deadline: Math.min(performance.now() + timeoutMs, deadline), what, reject };
      if (watched.deadline <= performance.now()) {
        reject(timedOut(what));
        return;
      }
      inFlight.add(watched);
      if (!sweeper) {
        sweeper = setInterval(sweep, sweepMs);
        sweeper.unref();
      }
      const failed = (error: unknown) => {
        inFlight.delete(watched);
        reject(error instanceof RateLimitStoreError ? error : new RateLimitStoreError(`Redis ${what} failed: ${(error as Error).message}`, { cause: error }));
      };
      try {
        run(get()).then((value) => {
          inFlight.delete(watched);
          resolve(value);
        }, failed);
      } catch (error) {
        failed(error);
      }
    });
  }

  /** Where the master serving a slot is (`host:port`), as the cluster client last learnt it. */
  const masterOf = (c: Cluster, slot: number): string | undefined => c.slots[slot]?.[0];

  let used: 'functions' | 'eval' | undefined;
  return {
    kind: 'redis',
    timeoutMs,
    shardOf(identifier) {
      const c = client;
      // before the cluster client knows its slots, or on one server: one shard
      if (!(c instanceof Cluster)) return '';
      return masterOf(c, calculateSlot(keys(identifier).state)) ?? '';
    },
    shards() {
      const c = client;
      // '' stands for "not known yet" (no slots learnt): always a shard
      return new Set(['', ...(c instanceof Cluster ? c.slots.map((nodes) => nodes[0] ?? '') : [])]);
    },
    connected(shard) {
      const c = client;
      if (!c) return undefined;
      if (!(c instanceof Cluster) || shard === '') return c.status === 'ready';
      // a node the client dropped (dead, failed over) is not connected
      return c.nodes('all').some((n) => `${n.options.host}:${n.options.port}` === shard && n.status === 'ready');
    },
    async heartbeat(instance, windowMs) {
      // the server's clock first (midpoint of its round trip), then presence stamped with it
      const sent = Date.now();
      const [seconds, micros] = await call('read the clock', (c) => c.time());
      const at = Math.round((sent + Date.now()) / 2);
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const key = `${prefix}:presence`;
      const replies = await call('presence', (c) =>
        c.pipeline().zadd(key, now, instance).zremrangebyscore(key, '-inf', now - windowMs).zcard(key).pexpire(key, 2 * windowMs).exec(),
      );
      const count = Number(replies?.[2]?.[1] ?? 1);
      return { instances: Math.max(1, count), now, at };
    },
    async leave(instance) {
      await call('presence', (c) => c.zrem(`${prefix}:presence`, instance));
    },
    get scripts() {
      return used ?? mode;
    },
    client: get,
    keys,
    async evaluate(request) {
      const k = keys(request.identifier);
      const output = await call('check', (c) => check(c, encodeCheck(request, k)), request.deadline);
      // best effort, after the answer: never part of the call's time
      if (!output.allowed && request.mode !== 'peek') void recordDenial(k, request.limits, output.limits, output.now, request.stateTtlMs);
      return output;
    },
    async settle(request) {
      const k = keys(request.identifier);
      const { keyList, args } = limitArgs(k, request.limits, (l) => request.costs.get(l.name) ?? -1);
      keyList.push(k.reservations);
      const reply = (await call('settle', (c) =>
        script(c, 'settle', [keyList.length, ...keyList, request.now ?? '', `${request.reservationId}|${request.expiresAt}`, request.stateTtlMs, ...args]),
        request.deadline,
      )) as number[];
      return { status: SETTLE_STATUS[reply[0]!] ?? 'unknown', now: reply[1]! };
    },
    async reset(request) {
      const k = keys(request.identifier);
      const logKeys = request.limits.filter((l) => l.code === AlgorithmCode['sliding-log']).map((l) => k.log(l.name));
      const names = request.all ? [] : request.limits.map((l) => l.name);
      await call('reset', (c) =>
        script(c, 'reset', [3 + logKeys.length, k.state, k.reservations, k.denials, ...logKeys, request.all ? 'all' : 'some', request.stateTtlMs, ...names]),
      );
    },
    async inspect(identifier, now) {
      const k = keys(identifier);
      const reply = (await call('inspect', (c) => script(c, 'inspect', [2, k.state, k.denials, now ?? '']))) as (string | number)[];
      const denials = String(reply[1] || '')
        .split(';')
        .filter(Boolean)
        .map((d) => {
          const i = d.indexOf(':');
          return { at: Number(d.slice(0, i)), limit: d.slice(i + 1) };
        })
        .reverse();
      const reservations: StoreInspection['reservations'][number][] = [];
      for (let i = 2; i < reply.length; i += 2) reservations.push(parseReservation(String(reply[i]), String(reply[i + 1])));
      return { now: Number(reply[0]), denials, reservations: reservations.sort((a, b) => Number(a.id) - Number(b.id)) };
    },
    async controls() {
      const all = await call('read controls', (c) => c.hgetall(controlKey));
      const map = new Map<string, Control>();
      for (const [id, json] of Object.entries(all)) {
        const control = parseControl(json);
        if (control) map.set(id, control);
      }
      return map;
    },
    async control(identifier) {
      return parseControl(await call('read a control', (c) => c.hget(controlKey, identifier)));
    },
    async setControl(identifier, control) {
      await call('write a control', async (c) => {
        if (control) await c.hset(controlKey, identifier, JSON.stringify(control));
        else await c.hdel(controlKey, identifier);
        await c.publish(channel, identifier);
      });
    },
    async announce(identifier) {
      await call('announce', (c) => c.publish(channel, identifier));
    },
    // documents (live plans): one hash, announced on the controls channel
    async readDocument(name) {
      return (await call('read a document', (c) => c.hget(`${prefix}:documents`, name))) ?? undefined;
    },
    async writeDocument(name, json) {
      await call('write a document', async (c) => {
        if (json === undefined) await c.hdel(`${prefix}:documents`, name);
        else await c.hset(`${prefix}:documents`, name, json);
        await c.publish(channel, name);
      });
    },
    async listen(listener) {
      listeners.add(listener);
      if (!subscriber) {
        const c = get();
        const s: RedisClient = c instanceof Cluster ? c.duplicate() : c.duplicate();
        subscriber = s;
        s.on('message', (_: string, identifier: string) => {
          for (const l of listeners) l(identifier);
        });
        // Subscribed on every new connection, not once: ioredis re-subscribes only channels it
        // saw confirmed, so a first SUBSCRIBE that failed (Redis down at start) was never retried.
        // After a reconnect, or a subscription made late, announcements may have been missed:
        // anything may have changed.
        let first = true;
        s.on('ready', () => {
          if (first || subscriber !== s) return;
          s.subscribe(channel).then(() => {
            if (subscriber === s) for (const l of listeners) l(undefined);
          }, () => undefined);
        });
        s.on('error', () => {
          // reconnects by itself; calls report failures through `call`
        });
        try {
          await call('subscribe', () => s.subscribe(channel));
        } finally {
          first = false;
        }
      }
      return async () => {
        listeners.delete(listener);
        if (listeners.size === 0 && subscriber) {
          const s = subscriber;
          subscriber = undefined;
          await s.quit().catch(() => s.disconnect());
        }
      };
    },
    async addUsage(usage, { maxEntries }) {
      const byBoard = new Map<string, { identifier: string; amount: number; ttlMs: number }[]>();
      for (const u of usage) {
        const list = byBoard.get(u.board) ?? [];
        list.push(u);
        byBoard.set(u.board, list);
      }
      // one pipeline per board: each board is one key, so one slot even on a cluster
      await call('add usage', (c) =>
        Promise.all(
          [...byBoard].map(([board, list]) => {
            const key = boardKey(board);
            const p = c.pipeline();
            for (const u of list) p.zincrby(key, u.amount, u.identifier);
            // keep the largest entries only: a board must not grow with every identifier
            p.zremrangebyrank(key, 0, -(maxEntries + 1));
            p.pexpire(key, Math.max(...list.map((u) => u.ttlMs)));
            return p.exec();
          }),
        ),
      );
    },
    async topUsage(board, count) {
      const flat = await call('read usage', (c) => c.zrevrange(boardKey(board), 0, count - 1, 'WITHSCORES'));
      const top: { identifier: string; amount: number }[] = [];
      for (let i = 0; i < flat.length; i += 2) top.push({ identifier: flat[i]!, amount: Number(flat[i + 1]) });
      return top;
    },
    async append(stream, fields, { maxLength, identifier, ttlMs }) {
      const key = streamKey(stream, identifier);
      const id = await call('append', async (c) => {
        const added = await c.xadd(key, 'MAXLEN', '~', maxLength, '*', ...Object.entries(fields).flat());
        if (ttlMs !== undefined) await c.pexpire(key, ttlMs);
        return added;
      });
      return String(id);
    },
    async read(stream, count, identifier) {
      const entries = await call('read', (c) => c.xrevrange(streamKey(stream, identifier), '+', '-', 'COUNT', count));
      return entries.map(([id, flat]): StreamEntry => {
        const fields: Record<string, string> = {};
        for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
        return { id, fields };
      });
    },
    async close() {
      clearInterval(sweeper);
      sweeper = undefined;
      listeners.clear();
      if (subscriber) {
        const s = subscriber;
        subscriber = undefined;
        await s.quit().catch(() => s.disconnect());
      }
      if (client && owned) await client.quit().catch(() => client?.disconnect());
      client = undefined;
    },
  };
}
