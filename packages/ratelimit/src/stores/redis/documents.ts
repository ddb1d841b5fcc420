// Documents (live plans): one hash under the prefix, each write announced on the controls'
// channel so every instance reloads it. Through the client interface, so node-redis works too.
import type { DocumentStore } from '../types';
import type { RedisStoreClient } from './client';
import type { Within } from './deadline';
import type { KeyNames } from './keys';

export function redisDocuments(client: () => RedisStoreClient, within: Within, keys: KeyNames): DocumentStore {
  return {
    async readDocument(name) {
      const json = await within('read a document', () => client().send(keys.documents, ['HGET', keys.documents, name]));
      return typeof json === 'string' ? json : undefined;
    },
    async writeDocument(name, json) {
      await within('write a document', async () => {
        const c = client();
        await c.send(keys.documents, json === undefined ? ['HDEL', keys.documents, name] : ['HSET', keys.documents, name, json]);
        await c.send(undefined, ['PUBLISH', keys.channel, name]);
      });
    },
  };
}
