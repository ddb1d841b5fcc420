// Usage boards (sorted sets keeping their largest entries), capped streams (anomalies, audit; an
// identifier's own history as a capped list) and
// instance presence with the server's clock: the shared reads and writes admins and the limiter use.
import type { StreamEntry, StreamStore, UsageStore } from '../types';
import { scoredMembers, streamEntries } from './codec';
import type { RedisStoreClient } from './client';
import type { Within } from './deadline';
import type { KeyNames } from './keys';

export function redisBoards(client: () => RedisStoreClient, within: Within, keys: KeyNames): UsageStore & StreamStore {
  let historySeq = 0;
  return {
    async addUsage(usage, { maxEntries }) {
      const byBoard = new Map<string, { identifier: string; amount: number; ttlMs: number }[]>();
      for (const u of usage) {
        const list = byBoard.get(u.board) ?? [];
        list.push(u);
        byBoard.set(u.board, list);
      }
      // one pipeline per board: each board is one key, so one slot even on a cluster
      await within('add usage', () =>
        Promise.all(
          [...byBoard].map(([board, list]) => {
            const key = keys.board(board);
            return client().pipeline(key, [
              ...list.map((u) => ['ZINCRBY', key, u.amount, u.identifier]),
              // keep the largest entries only: a board must not grow with every identifier
              ['ZREMRANGEBYRANK', key, 0, -(maxEntries + 1)],
              ['PEXPIRE', key, Math.max(...list.map((u) => u.ttlMs))],
            ]);
          }),
        ),
      );
    },
    async topUsage(board, count) {
      const key = keys.board(board);
      return scoredMembers(await within('read usage', () => client().send(key, ['ZREVRANGE', key, 0, count - 1, 'WITHSCORES'])));
    },
    async append(stream, fields, { maxLength, identifier, ttlMs }) {
      if (identifier !== undefined) {
        // newest first, JSON [id, fields]
        const id = `${Date.now()}-${++historySeq}`;
        const key = keys.history(stream, identifier);
        const commands: (string | number)[][] = [
          ['LPUSH', key, JSON.stringify([id, fields])],
          ['LTRIM', key, 0, maxLength - 1],
        ];
        if (ttlMs !== undefined) commands.push(['PEXPIRE', key, ttlMs]);
        await within('append', () => client().pipeline(key, commands));
        return id;
      }
      const key = keys.stream(stream);
      const id = await within('append', async () => {
        const c = client();
        const added = await c.send(key, ['XADD', key, 'MAXLEN', '~', maxLength, '*', ...Object.entries(fields).flat()]);
        if (ttlMs !== undefined) await c.send(key, ['PEXPIRE', key, ttlMs]);
        return added;
      });
      return String(id);
    },
    async read(stream, count, identifier) {
      if (identifier !== undefined) {
        const key = keys.history(stream, identifier);
        const rows = (await within('read', () => client().send(key, ['LRANGE', key, 0, count - 1]))) as string[];
        return rows.map((row): StreamEntry => {
          const [id, fields] = JSON.parse(String(row)) as [string, Record<string, string>];
          return { id, fields };
        });
      }
      const key = keys.stream(stream);
      return streamEntries(await within('read', () => client().send(key, ['XREVRANGE', key, '+', '-', 'COUNT', count])));
    },
  };
}

/** Instance presence and the server's clock (the limiter's heartbeat). */
export function redisPresence(client: () => RedisStoreClient, within: Within, keys: KeyNames) {
  return {
    async heartbeat(instance: string, windowMs: number) {
      // the server's clock first (midpoint of its round trip), then presence stamped with it
      const sent = Date.now();
      const [seconds, micros] = (await within('read the clock', () => client().send(undefined, ['TIME']))) as [string, string];
      const at = Math.round((sent + Date.now()) / 2);
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const key = keys.presence;
      const replies = await within('presence', () =>
        client().pipeline(key, [
          ['ZADD', key, now, instance],
          ['ZREMRANGEBYSCORE', key, '-inf', now - windowMs],
          ['ZCARD', key],
          ['PEXPIRE', key, 2 * windowMs],
        ]),
      );
      return { instances: Math.max(1, Number(replies[2] ?? 1)), now, at };
    },
    async leave(instance: string) {
      await within('presence', () => client().send(keys.presence, ['ZREM', keys.presence, instance]));
    },
  };
}
