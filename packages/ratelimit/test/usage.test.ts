// Top-consumer boards: the largest amounts of each window go out, boards keep their largest.
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { createRateLimitAdmin } from '../src/admin';
import { createRateLimiter } from '../src/index';
import type { UsageStore } from '../src/stores/types';
import { createUsageRecorder, largest } from '../src/usage';
import { makeStore, STORE_KINDS } from './fixtures/stores';

describe('largest', () => {
  prop.prop([fc.array(fc.tuple(fc.string(), fc.integer({ min: 0, max: 50 }))), fc.integer({ min: 1, max: 30 })])('keeps the k largest amounts', (entries, k) => {
    const picked = largest(entries.map((e) => [...e] as [string, number]), k);
    expect(picked).toHaveLength(Math.min(k, entries.length));
    const sorted = entries.map((e) => e[1]).sort((a, b) => b - a);
    expect(picked.map((e) => e[1]).sort((a, b) => b - a)).toEqual(sorted.slice(0, k));
  });
});

describe('a window with many identifiers', () => {
  it('keeps its memory bounded: past twice `tracked` identifiers, the largest amounts stay, counted in full', async () => {
    const sent: Parameters<UsageStore['addUsage']>[0][] = [];
    const store: UsageStore = {
      addUsage: (batch) => {
        sent.push(batch);
        return Promise.resolve();
      },
      topUsage: () => Promise.resolve([]),
    };
    const usage = createUsageRecorder(store, { flushMs: 3_600_000, perFlush: 1000, boardSize: 1000, tracked: 4 }, () => undefined);
    const now = Date.UTC(2026, 0, 1, 12);
    const requests = new Map([['requests', 1]]);
    for (let i = 0; i < 50; i++) {
      // a heavy identifier between light ones, each light one seen once
      usage.add('heavy', new Map([['requests', 10]]), now);
      usage.add(`light-${i}`, requests, now);
    }
    await usage.close();
    // each board (hour and day) gets every identifier still tracked: at most 2 x 4 of them
    const hour = sent.flat().filter((e) => e.board.startsWith('h:'));
    expect(hour.length).toBeLessThanOrEqual(8);
    expect(hour.find((e) => e.identifier === 'heavy')?.amount).toBe(500);
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
