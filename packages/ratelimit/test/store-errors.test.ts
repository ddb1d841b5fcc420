// What a failed store call says: the store's words, never the client library's text (that stays
// the error's cause and goes to the operator's log line), through every client library.
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';

import { createMemoryStore, createRateLimiter, type RateLimitEvent, RateLimitStoreError, type Store } from '../src/index';
import { type AnyRedisClient, createRedisStore } from '../src/redis';
import { makeGlideClient, prefix } from './fixtures/stores';

const opened: { close(): Promise<unknown> }[] = [];

/** A limiter on `store` whose error log lines and events are kept (closed after the tests). */
function recording(store: Store) {
  const lines: Record<string, unknown>[] = [];
  const events: RateLimitEvent[] = [];
  const limiter = createRateLimiter({
    store,
    plans: { p: { limits: [{ name: 'm', limit: 5, window: '1 m' }] } },
    topConsumers: false,
    logger: { warn: () => undefined, error: (r) => lines.push(r) },
    onEvent: (e) => events.push(e),
  });
  opened.push(limiter);
  return { limiter, lines, events };
}

afterAll(async () => {
  for (const c of opened.reverse()) await c.close();
});

const clients: Record<'ioredis' | 'node-redis' | 'glide', () => AnyRedisClient> = {
  ioredis: () => new Redis(inject('redisUrl')),
  'node-redis': () => createClient({ url: inject('redisUrl') }),
  glide: () => makeGlideClient('glide'),
};

describe.each(Object.keys(clients) as (keyof typeof clients)[])('through %s', (library) => {
  it("a server's error reply: its code, not its text; the text in the log line only", async () => {
    const store = createRedisStore({ client: clients[library], prefix: prefix() });
    opened.push(store);
    // the controls hash holds a string: HGETALL answers WRONGTYPE Operation against a key...
    const raw = new Redis(inject('redisUrl'));
    opened.push({ close: () => raw.quit() });
    await raw.set(store.keys('x').state.replace(/:\{.*$/, ':control'), 'not a hash', 'PX', 60_000);

    const error = await store.controls().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RateLimitStoreError);
    expect((error as Error).message).toBe('Redis read controls failed: the server refused the command (WRONGTYPE)');
    expect(((error as Error).cause as Error).message).toMatch(/Operation against a key/);

    const { limiter, lines, events } = recording(store);
    // the limiter reads the controls on its first call: the failure is reported, the call answered
    await limiter.check('a', { plan: 'p' });
    for (let i = 0; i < 500 && !lines.some((l) => l.operation === 'controls'); i++) await new Promise((r) => setTimeout(r, 20));
    const failed = events.flatMap((e) => (e.type === 'store-error' ? [e.error.message] : []));
    expect(failed).toContain('Redis read controls failed: the server refused the command (WRONGTYPE)');
    expect(failed.join()).not.toMatch(/Operation against/);
    const line = lines.find((l) => l.operation === 'controls');
    expect(line, JSON.stringify(lines)).toMatchObject({ msg: 'rate limiter store call failed', error: 'Redis read controls failed: the server refused the command (WRONGTYPE)' });
    expect(String(line!.cause)).toMatch(/^WRONGTYPE Operation against a key/);
  });
});

it("an error a store throws as it is: its text in the log line only, never in the event's message", async () => {
  const memory = createMemoryStore();
  // a custom store (or a client called outside the store's wrapping) throwing a client's raw text
  const store = Object.assign(Object.create(Object.getPrototypeOf(memory) as object) as typeof memory, memory, {
    evaluate: () => Promise.reject(new Error('connect failed: redis://admin:hunter2@cache.internal:6379')),
  });
  const { limiter, lines, events } = recording(store);
  await limiter.check('a', { plan: 'p' });
  const failed = events.flatMap((e) => (e.type === 'store-error' ? [e.error] : []));
  expect(failed.length).toBeGreaterThan(0);
  expect(failed[0]!.message).toBe('memory store check failed: the store reported an error (its text is in the logs)');
  expect(failed.map((e) => e.message).join()).not.toMatch(/hunter2/);
  expect((failed[0]!.cause as Error).message).toMatch(/hunter2/);
  const line = lines.find((l) => l.msg === 'rate limiter store call failed');
  expect(String(line?.cause)).toMatch(/^connect failed/);
});
