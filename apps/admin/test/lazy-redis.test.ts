// Nothing connects at import or when the app is assembled (what `next build` does): the first
// connection is made by the first admin call, on the client the web app's limiters would use.
import net from 'node:net';

import { RateLimitStoreError } from '@airl/ratelimit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { getApp } from '~/server/app';

describe('the Redis connection', () => {
  let connections = 0;
  let server: net.Server;
  let port = 0;
  beforeAll(async () => {
    // a TCP listener that only counts who connects
    server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is not opened by importing the actions, the gate and the routes or assembling the app, only by the first call', async () => {
    process.env.REDIS_URL = `redis://127.0.0.1:${port}`;
    try {
      await import('../src/app/api/health/route');
      await import('../src/app/actions');
      await import('../src/server/guard');
      const app = getApp();
      expect(app.limiters.storage).toBe('redis');
      await new Promise((r) => setTimeout(r, 200));
      expect(connections).toBe(0);
      // nothing answers there: the call fails fast with the store error the pages turn into a message
      await expect(app.admin.audit()).rejects.toBeInstanceOf(RateLimitStoreError);
      expect(connections).toBeGreaterThan(0);
      await app.close();
    } finally {
      delete process.env.REDIS_URL;
      delete (globalThis as { __airlAdminApp?: unknown }).__airlAdminApp;
    }
  });
});
