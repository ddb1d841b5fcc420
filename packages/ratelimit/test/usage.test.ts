// Top-consumer boards: the largest amounts of each window go out, boards keep their largest.
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { createRateLimitAdmin } from '../src/admin';
import { createRateLimiter } from '../src/index';
import { largest } from '../src/usage';
import { makeStore, STORE_KINDS } from './fixtures/stores';

describe('largest', () => {
  prop.prop([fc.array(fc.tuple(fc.string(), fc.integer({ min: 0, max: 50 }))), fc.integer({ min: 1, max: 30 })])('keeps the k largest amounts', (entries, k) => {
    const picked = largest(entries.map((e) => [...e] as [string, number]), k);
    expect(picked).toHaveLength(Math.min(k, entries.length));
    const sorted = entries.map((e) => e[1]).sort((a, b) => b - a);
    expect(picked.map((e) => e[1]).sort((a, b) => b - a)).toEqual(sorted.slice(0, k));
  });
});

describe.each(STORE_KINDS)('%s store', (kind) => {
  it('sends each board the largest amounts of a window, and a board keeps only its largest', async () => {
    const limiter = createRateLimiter({
      plans: { p: { limits: [{ name: 'h', limit: 1000, window: '1 h' }] } },
      store: makeStore(kind),
      topConsumers: { flushInterval: '1 h', perFlush: 3, boardSize: 4 },
      logger: false,
    });
    const admin = createRateLimitAdmin(limiter);
    // window 1: heavy ones and light ones
    for (const [id, calls] of [['a', 9], ['b', 8], ['c', 7], ['d', 2], ['e', 1]] as const) {
      for (let i = 0; i < calls; i++) await limiter.check(id, { plan: 'p' });
    }
    await limiter.close(); // flushes
    expect(await admin.topConsumers({ period: 'hour', count: 10 })).toEqual([
      { identifier: 'a', amount: 9 },
      { identifier: 'b', amount: 8 },
      { identifier: 'c', amount: 7 },
    ]);
    // window 2 on another instance: a new heavy one; the board keeps its 4 largest
    const other = createRateLimiter({
      plans: { p: { limits: [{ name: 'h', limit: 1000, window: '1 h' }] } },
      store: limiter.store,
      topConsumers: { flushInterval: '1 h', perFlush: 3, boardSize: 4 },
      logger: false,
    });
    for (const [id, calls] of [['f', 20], ['g', 6], ['a', 1]] as const) {
      for (let i = 0; i < calls; i++) await other.check(id, { plan: 'p' });
    }
    await other.close();
    expect(await admin.topConsumers({ period: 'hour', count: 10 })).toEqual([
      { identifier: 'f', amount: 20 },
      { identifier: 'a', amount: 10 },
      { identifier: 'b', amount: 8 },
      { identifier: 'c', amount: 7 },
    ]);
  });
});
