// The node-redis adapter (the `redis` package, 6.x; client or cluster). Commands through
// `sendCommand` (a cluster routes by the key given), pipelined by node-redis when sent in one tick;
// scripts by EVALSHA, EVAL after NOSCRIPT; pub/sub on a duplicate. Replies may be RESP3-shaped
// (node-redis's default): the store reads them either way.
import type { RedisClientType, RedisClusterType } from 'redis';

import { type Arg, evalBySha, type NodeRedisClient, type RedisStoreClient } from './client';

type Client = RedisClientType<any, any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Cluster = RedisClusterType<any, any, any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const strings = (args: readonly Arg[]) => args.map(String);
const noop = () => undefined;

export function nodeRedisAdapter(c: NodeRedisClient, owned: boolean): RedisStoreClient {
  const cluster = 'masters' in c;
  const asCluster = () => c as Cluster;
  // a client made by the store reports failures through the limiter, not as an unhandled 'error'
  if (owned) c.on('error', noop);
  // node-redis sends nothing before connect(): a client given unconnected is connected on first use
  // (calls made while it connects wait for it: isOpen is true from the start of connect())
  let opening: Promise<unknown> | undefined;
  const open = () => opening ?? (c.isOpen ? undefined : (opening = c.connect().finally(() => (opening = undefined))));
  const send = async (key: string | undefined, args: readonly Arg[]): Promise<unknown> => {
    await open();
    return cluster ? asCluster().sendCommand(key, false, strings(args)) : (c as Client).sendCommand(strings(args));
  };
  return {
    library: 'node-redis',
    cluster,
    send,
    pipeline: (key, commands) => Promise.all(commands.map((args) => send(key, args))),
    evalScript: evalBySha(send),
    async everyMaster(args) {
      if (!cluster) return [await send(undefined, args)];
      await open();
      const cl = asCluster();
      return Promise.all(cl.masters.map(async (m) => (await cl.nodeClient(m)).sendCommand(strings(args))));
    },
    subscribe(channel, { message, missed }) {
      const s = cluster ? asCluster().duplicate() : (c as Client).duplicate();
      s.on('error', noop);
      // node-redis subscribes again by itself after a reconnect; what was sent meanwhile is lost
      let first = true;
      let live = true;
      s.on(cluster ? 'node-ready' : 'ready', () => {
        if (!first && live) missed();
      });
      const subscribed = (async () => {
        try {
          await s.connect();
          await s.subscribe(channel, (text: string) => message(text));
        } finally {
          first = false;
        }
      })();
      return {
        subscribed,
        async close() {
          live = false;
          await s.close().catch(() => s.destroy());
        },
      };
    },
    masterOf: (slot) => (cluster ? asCluster().slots[slot]?.master.address : undefined),
    masters: () => (cluster ? asCluster().slots.map((shard) => shard?.master.address ?? '') : []),
    connected(node) {
      if (!cluster || node === '') return c.isReady;
      // a node the client dropped (dead, failed over) is not connected
      return asCluster().nodeByAddress.get(node)?.client?.isReady ?? false;
    },
    async quit() {
      if (!c.isOpen) return;
      await c.close().catch(() => c.destroy());
    },
  };
}
