// The Valkey GLIDE adapter (`@valkey/valkey-glide` 2.x; GlideClient or GlideClusterClient).
// GLIDE takes a client's subscriptions when the client is made, so the adapter is given the
// configuration, not a client: it makes the command client (unless given one) and, for controls,
// a second client subscribed to the store's channel. GLIDE is loaded on first use, never at import.
// Commands go through `customCommand` (routed by key on a cluster), pipelines through a
// non-atomic Batch; GLIDE's errors are turned back into the server's reply text the store reads
// (`NOSCRIPT ...`, `MOVED ...`), its maps (`{ key, value }[]`) into Maps.
import type * as GlideModule from '@valkey/valkey-glide';
import type { GlideClient, GlideClientConfiguration, GlideClusterClient, GlideClusterClientConfiguration, GlideReturnType, PubSubMsg } from '@valkey/valkey-glide';

import { RateLimitConfigError } from '../../errors';
import { type Arg, evalBySha, type RedisStoreClient } from './client';

type Glide = typeof GlideModule;

/** A GLIDE client, standalone or cluster. */

/**
 * GLIDE, loaded by Node at run time: its native binary must not reach a bundler (Next.js's webpack
 * or Turbopack, esbuild), and apps that never use GLIDE need not install it.
 */
const loadGlide = (): Promise<Glide> => import(/* webpackIgnore: true */ /* turbopackIgnore: true */ '@valkey/valkey-glide');
export type GlideAnyClient = GlideClient | GlideClusterClient;

/** How {@link glideStoreClient} reaches the server. */
export type GlideStoreClientOptions =
  | {
      /** `false`: one server (GlideClient). ElastiCache Serverless always runs in cluster mode. */
      cluster: false;
      /** The configuration of every client the store makes (`pubsubSubscriptions` is the store's own). */
      config: GlideClientConfiguration;
      /** A client already made with `config`, used for commands (the store does not close it). */
      client?: GlideClient;
    }
  | {
      /** `true`: a cluster (GlideClusterClient), including ElastiCache Serverless. */
      cluster: true;
      /** The configuration of every client the store makes (`pubsubSubscriptions` is the store's own). */
      config: GlideClusterClientConfiguration;
      /** A client already made with `config`, used for commands (the store does not close it). */
      client?: GlideClusterClient;
    };

const SERVER_SAID = /^An error was signalled by the server:?\s*-\s*/;
// GLIDE (its Rust core) names a reply's kind in its own words: back to the server's code
const KINDS: Record<string, string> = {
  ResponseError: 'ERR',
  NoScriptError: 'NOSCRIPT',
  Moved: 'MOVED',
  Ask: 'ASK',
  TryAgain: 'TRYAGAIN',
  ClusterDown: 'CLUSTERDOWN',
  CrossSlot: 'CROSSSLOT',
  MasterDown: 'MASTERDOWN',
  ReadOnly: 'READONLY',
  BusyLoadingError: 'LOADING',
  ExecAbortError: 'EXECABORT',
};
const KIND = /^([A-Za-z]+):\s*/;

/** GLIDE's error as the server's reply (`CODE text`); the GLIDE error is its `cause`, its class name its `name`. */
export function glideError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const text = error.message.replace(SERVER_SAID, '');
  const kind = KIND.exec(text);
  const code = kind && (KINDS[kind[1]!] ?? (/^[A-Z]+$/.test(kind[1]!) ? kind[1] : undefined));
  if (!code) return error;
  const wrapped = new Error(`${code} ${text.slice(kind[0].length)}`, { cause: error });
  wrapped.name = error.name;
  return wrapped;
}

/** GLIDE's maps (`{ key, value }[]`, RESP3 maps and stream entries) as Maps; anything else as is. */
function fromGlide(reply: GlideReturnType): unknown {
  if (!Array.isArray(reply)) return reply;
  if (reply.length > 0 && reply.every((e) => typeof e === 'object' && e !== null && !Array.isArray(e) && 'key' in e && 'value' in e)) {
    return new Map((reply as { key: unknown; value: GlideReturnType }[]).map((e) => [e.key, fromGlide(e.value)]));
  }
  return reply.map((e) => fromGlide(e));
}

const strings = (args: readonly Arg[]) => args.map(String);
const RETRY_SUBSCRIBE_MS = 1000;

/**
 * A {@link RedisStoreClient} over Valkey GLIDE. Pass it as a function, so the store closes it:
 * `createRedisStore({ client: () => glideStoreClient({ cluster: true, config }) })`.
 * Controls (admins' overrides, blocks, live plans) open a second GLIDE client, subscribed to the
 * store's channel. Throws {@link RateLimitConfigError} when `config` has no address.
 */
export function glideStoreClient(options: GlideStoreClientOptions): RedisStoreClient {
  if (!options.config?.addresses?.length) throw new RateLimitConfigError('glideStoreClient: config.addresses must name at least one server ({ host, port })');
  const cluster = options.cluster;
  let made: Promise<GlideAnyClient> | undefined;
  let current: GlideAnyClient | undefined = options.client;
  let lib: Glide | undefined;
  const create = async (config: GlideClientConfiguration | GlideClusterClientConfiguration): Promise<GlideAnyClient> => {
    const { GlideClient, GlideClusterClient } = (lib ??= await loadGlide());
    return cluster ? GlideClusterClient.createClient(config) : GlideClient.createClient(config);
  };
  let closed = false;
  // made on first use; a failed attempt (the server down) is tried again by the next call; none after quit()
  const client = async (): Promise<GlideAnyClient> => {
    if (current) {
      // a client given: GLIDE is loaded for its batches
      lib ??= await loadGlide();
      return current;
    }
    if (closed) throw new Error('Connection is closed (the store was closed)');
    made ??= create(options.config).then(
      (c) => {
        // quit() while it was being made: it is not the store's any more
        if (closed) {
          c.close();
          throw new Error('Connection is closed (the store was closed)');
        }
        return (current = c);
      },
      (error: unknown) => {
        made = undefined;
        throw error;
      },
    );
    return made;
  };

  let slots: string[] = [];
  let up: boolean | undefined;
  // a call failed for want of the server: the next success is a reconnect, and subscribers may
  // have missed messages meanwhile
  let troubled = false;
  const reconnected = new Set<() => void>();
  let learning: Promise<void> | undefined;
  let learnt = 0;
  /** The masters by slot, from CLUSTER SLOTS: at first, and again after a failure (at most once a second). */
  const learnSlots = (c: GlideAnyClient) => {
    if (!cluster || learning || performance.now() - learnt < 1000) return;
    learnt = performance.now();
    learning = (c as GlideClusterClient)
      .customCommand(['CLUSTER', 'SLOTS'], { route: 'randomNode' })
      .then((reply) => {
        const next: string[] = [];
        for (const [from, to, master] of reply as [number, number, [string, number]][]) for (let s = from; s <= to; s++) next[s] = `${master[0]}:${master[1]}`;
        slots = next;
      })
      .catch(() => undefined)
      .finally(() => (learning = undefined));
  };
  const failed = (c: GlideAnyClient | undefined, error: unknown): never => {
    const name = (error as Error | undefined)?.name;
    // while the server is down GLIDE's calls time out: the connection's state is then unknown
    if (name === 'ConnectionError' || name === 'ClosingError') up = false;
    else if (name === 'TimeoutError') up = undefined;
    if (name === 'ConnectionError' || name === 'ClosingError' || name === 'TimeoutError') troubled = true;
    if (c) learnSlots(c);
    throw glideError(error);
  };
  const answered = (c: GlideAnyClient) => {
    up = true;
    if (troubled) {
      troubled = false;
      for (const heard of reconnected) heard();
    }
    if (slots.length === 0) learnSlots(c);
  };
  /** Runs `work` on the client: at once when it is made (so calls reach the server in the order they were made), else once it is. */
  const run = <T>(work: (c: GlideAnyClient, lib: Glide) => Promise<T>): Promise<T> => {
    const on = (c: GlideAnyClient) =>
      work(c, lib!).then(
        (reply) => {
          answered(c);
          return reply;
        },
        (error: unknown) => failed(c, error),
      );
    return current && lib ? on(current) : client().then(on, (error: unknown) => failed(undefined, error));
  };
  const route = (key: string | undefined) => (key === undefined ? {} : { route: { type: 'primarySlotKey' as const, key } });
  const send = (key: string | undefined, args: readonly Arg[]) =>
    run(async (c) => fromGlide(cluster ? await (c as GlideClusterClient).customCommand(strings(args), route(key)) : await (c as GlideClient).customCommand(strings(args))));

  return {
    library: 'valkey-glide',
    cluster,
    send,
    pipeline(key, commands) {
      // a cluster's batch is split and sent apart from single commands, so a command sent after it
      // could overtake it: there the commands go one by one, in order, on the key's connection
      if (cluster) return Promise.all(commands.map((args) => send(key, args)));
      return run(async (c, { Batch }) => {
        const batch = new Batch(false);
        for (const args of commands) batch.customCommand(strings(args));
        return ((await (c as GlideClient).exec(batch, true)) ?? []).map(fromGlide);
      });
    },
    evalScript: evalBySha(send),
    everyMaster: (args) =>
      run(async (c) => {
        if (!cluster) return [fromGlide(await (c as GlideClient).customCommand(strings(args)))];
        const reply = fromGlide(await (c as GlideClusterClient).customCommand(strings(args), { route: 'allPrimaries' }));
        // one answer when every master gave the same, else one per master
        return reply instanceof Map ? [...(reply as Map<unknown, unknown>).values()] : [reply];
      }),
    subscribe(channel, { message, missed }) {
      let live = true;
      let subscriber: GlideAnyClient | undefined;
      let retry: NodeJS.Timeout | undefined;
      const config = {
        ...options.config,
        pubsubSubscriptions: {
          // Exact is 0 in both GlideClientConfiguration and GlideClusterClientConfiguration
          channelsAndPatterns: { 0: new Set([channel]) },
          callback: (msg: PubSubMsg) => message(String(msg.message)),
        },
      };
      // GLIDE subscribes again by itself after a reconnect, and tells no one: the store hears of a
      // reconnect through the command client (a failure, then a success) and counts it as missed
      const heard = () => {
        if (subscriber) missed();
      };
      reconnected.add(heard);
      const attempt = async (first: boolean): Promise<void> => {
        try {
          const s = await create(config);
          if (!live) return void s.close();
          subscriber = s;
          if (!first) missed();
        } catch (error) {
          if (live) {
            retry = setTimeout(() => void attempt(false), RETRY_SUBSCRIBE_MS);
            retry.unref();
          }
          if (first) throw glideError(error);
        }
      };
      return {
        subscribed: attempt(true),
        close() {
          live = false;
          reconnected.delete(heard);
          clearTimeout(retry);
          subscriber?.close();
          return Promise.resolve();
        },
      };
    },
    masterOf: (slot) => (cluster ? slots[slot] : undefined),
    masters: () => (cluster ? [...new Set(slots.filter(Boolean))] : []),
    // GLIDE does not show its connections: the last call says whether the server answered
    connected: (node) => (node === '' ? up : undefined),
    quit() {
      closed = true;
      const c = current;
      current = undefined;
      made = undefined;
      if (c && c !== options.client) c.close();
      return Promise.resolve();
    },
  };
}
