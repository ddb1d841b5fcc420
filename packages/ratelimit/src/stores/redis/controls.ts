// Controls (admins' overrides and blocks) in one hash, and announcements on one channel, heard
// through one subscriber connection shared by every listener.
import type { Control, ControlStore } from '../types';
import { hashEntries, parseControl } from './codec';
import type { RedisStoreClient } from './client';
import type { Within } from './deadline';
import type { KeyNames } from './keys';

/** The control methods of the store, and `stop` (closes the subscriber). */
export function redisControls(client: () => RedisStoreClient, within: Within, keys: KeyNames): { methods: ControlStore; stop: () => Promise<void> } {
  const listeners = new Set<(identifier: string | undefined) => void>();
  let subscriber: ReturnType<RedisStoreClient['subscribe']> | undefined;
  const notify = (identifier: string | undefined) => {
    for (const l of listeners) l(identifier);
  };
  const stop = async () => {
    const s = subscriber;
    subscriber = undefined;
    await s?.close();
  };

  const methods: ControlStore = {
    async controls() {
      const all = await within('read controls', () => client().send(keys.control, ['HGETALL', keys.control]));
      const map = new Map<string, Control>();
      for (const [id, json] of hashEntries(all)) {
        const control = parseControl(json);
        if (control) map.set(id, control);
      }
      return map;
    },
    async control(identifier) {
      return parseControl(await within('read a control', () => client().send(keys.control, ['HGET', keys.control, identifier])));
    },
    async setControl(identifier, control) {
      await within('write a control', async () => {
        const c = client();
        await c.send(keys.control, control ? ['HSET', keys.control, identifier, JSON.stringify(control)] : ['HDEL', keys.control, identifier]);
        await c.send(undefined, ['PUBLISH', keys.channel, identifier]);
      });
    },
    async announce(identifier) {
      await within('announce', () => client().send(undefined, ['PUBLISH', keys.channel, identifier]));
    },
    async listen(listener) {
      listeners.add(listener);
      if (!subscriber) {
        // after a reconnect, or a subscription made late, announcements may have been missed:
        // anything may have changed
        const s = client().subscribe(keys.channel, { message: notify, missed: () => subscriber === s && notify(undefined) });
        subscriber = s;
        try {
          await within('subscribe', () => s.subscribed);
        } catch (error) {
          // still subscribing: once it is, whatever was announced meanwhile is unknown
          s.subscribed.then(() => subscriber === s && notify(undefined), () => undefined);
          throw error;
        }
      }
      return async () => {
        listeners.delete(listener);
        if (listeners.size === 0) await stop();
      };
    },
  };
  return {
    methods,
    stop: async () => {
      listeners.clear();
      await stop();
    },
  };
}
