// The ioredis adapter (ioredis 6, `Redis` or `Cluster`): commands through `call` (looked up at
// each call, so a test can watch what is sent), scripts through `defineCommand` (EVALSHA with
// NOSCRIPT fallback, routed by key on a cluster), pub/sub on a duplicate connection.
// cluster-key-slot ships no types: every package that compiles this file finds them through here
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../../types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';

import type { Arg, IoRedisClient, RedisStoreClient, Script } from './client';

type Callable = { call(...args: Arg[]): Promise<unknown> };

/** A cluster's redirections: the command did not run there; sent alone, ioredis follows them. */
const REDIRECTED = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /;

export function ioredisAdapter(c: IoRedisClient, owned: boolean): RedisStoreClient {
  // a client made by the store reports failures through the limiter, not ioredis's console warning
  if (owned) c.on('error', () => undefined);
  const cluster = c.isCluster;
  const defined = new Map<string, string>();
  const command = (script: Script) => {
    let name = defined.get(script.sha);
    if (!name) {
      name = `rl${script.sha.slice(0, 12)}`;
      c.defineCommand(name, { lua: script.lua });
      defined.set(script.sha, name);
    }
    return name;
  };
  const asCluster = () => c as Cluster;
  const call = (args: readonly Arg[]) => (c as unknown as Callable).call(...args);

  /**
   * One pipeline per group of nodes serving the commands' slots (what an ioredis cluster pipeline
   * accepts), one write each; before the client knows the slots, each command alone.
   */
  function sendEach(commands: readonly { readonly key: string; readonly args: readonly Arg[] }[]): Promise<unknown>[] {
    const slots = cluster ? asCluster().slots : [];
    if (cluster && slots.length === 0) return commands.map(({ args }) => call(args));
    const groups = new Map<string, number[]>();
    commands.forEach(({ key }, i) => {
      const node = cluster ? (slots[calculateSlot(key)]?.join(',') ?? '') : '';
      const group = groups.get(node);
      if (group) group.push(i);
      else groups.set(node, [i]);
    });
    const replies = new Array<Promise<unknown>>(commands.length);
    for (const group of groups.values()) {
      const p = c.pipeline();
      for (const i of group) p.call(String(commands[i]!.args[0]), ...commands[i]!.args.slice(1));
      const executed = p.exec().then((r) => r ?? []);
      group.forEach((i, n) => {
        replies[i] = executed.then((r) => {
          const [error, reply] = r[n] ?? [new Error('no reply in the pipeline'), undefined];
          if (!error) return reply;
          // moved or migrating (a pipeline follows a redirection only when all of it got one)
          if (REDIRECTED.test(error.message)) return call(commands[i]!.args);
          throw error;
        });
      });
    }
    return replies;
  }

  return {
    library: 'ioredis',
    cluster,
    send: (_key, args) => call(args),
    sendEach,
    async pipeline(_key, commands) {
      const p = c.pipeline();
      for (const [name, ...args] of commands) p.call(String(name), ...args);
      const replies = (await p.exec()) ?? [];
      return replies.map(([error, reply]) => {
        if (error) throw error;
        return reply;
      });
    },
    evalScript: (script, _key, args) => (c as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[command(script)]!(...args),
    everyMaster: (args) => Promise.all((cluster ? asCluster().nodes('master') : [c as Redis]).map((node) => (node as unknown as Callable).call(...args))),
    subscribe(channel, { message, missed }) {
      const s: IoRedisClient = cluster ? asCluster().duplicate() : (c as Redis).duplicate();
      s.on('message', (_: string, text: string) => message(text));
      // Subscribed on every new connection, not once: ioredis re-subscribes only channels it saw
      // confirmed, so a first SUBSCRIBE that failed (Redis down at start) was never retried.
      let first = true;
      let open = true;
      s.on('ready', () => {
        if (first || !open) return;
        s.subscribe(channel).then(() => open && missed(), () => undefined);
      });
      s.on('error', () => {
        // reconnects by itself; the store's calls report failures
      });
      return {
        subscribed: s.subscribe(channel).then(
          () => void (first = false),
          (error: unknown) => {
            first = false;
            throw error;
          },
        ),
        async close() {
          open = false;
          await s.quit().catch(() => s.disconnect());
        },
      };
    },
    masterOf: (slot) => (cluster ? asCluster().slots[slot]?.[0] : undefined),
    masters: () => (cluster ? asCluster().slots.map((nodes) => nodes[0] ?? '') : []),
    connected(node) {
      if (!cluster || node === '') return c.status === 'ready';
      // a node the client dropped (dead, failed over) is not connected
      return asCluster()
        .nodes('all')
        .some((n) => `${n.options.host}:${n.options.port}` === node && n.status === 'ready');
    },
    quit: async () => {
      await c.quit().catch(() => c.disconnect());
    },
  };
}
