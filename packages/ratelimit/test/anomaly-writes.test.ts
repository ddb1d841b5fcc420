// Anomaly writes are off the request path: a check returns while the stream write still waits,
// close() waits for it, and a failed write is reported as a store error, never thrown.
import { describe, expect, it } from 'vitest';

import { createMemoryStore, createRateLimiter, type PlansConfig, type RateLimitEvent, type Store } from '../src/index';

const plans = { p: { limits: [{ name: 'hourly', limit: 1000, window: '1 h' }] } } satisfies PlansConfig;

/** A memory store whose stream writes wait until `release()` (or fail with `fail`). */
function heldStore(fail?: Error) {
  const store = createMemoryStore();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const written: string[] = [];
  const held: Store = Object.assign(Object.create(store) as Store, {
    async append(...args: Parameters<Store['append']>) {
      await gate;
      if (fail) throw fail;
      written.push(args[1].rule ?? '');
      return store.append(...args);
    },
  });
  return { store: held, release, written };
}

async function burst(limiter: ReturnType<typeof createRateLimiter<'p'>>) {
  // the burst rule with a threshold of 3 calls in 5 minutes fires on the 4th call
  for (let i = 0; i < 4; i++) await limiter.check('busy', { plan: 'p' });
}

describe('anomaly writes', () => {
  it('do not hold up the check, and close() waits for them', async () => {
    const { store, release, written } = heldStore();
    const seen: string[] = [];
    const limiter = createRateLimiter({ plans, store, clock: () => Date.UTC(2026, 5, 1), logger: false, anomalies: { burst: { threshold: 3 }, onAnomaly: (a) => seen.push(a.rule) } });
    await burst(limiter);
    // reported at once, not yet written: the check did not wait for the store
    expect(seen).toEqual(['burst']);
    expect(written).toEqual([]);
    const closing = limiter.close();
    release();
    await closing;
    expect(written).toEqual(['burst', 'burst']);
  });

  it('report a failed write as a store error', async () => {
    const { store, release } = heldStore(new Error('disk on fire'));
    const events: RateLimitEvent[] = [];
    const limiter = createRateLimiter({ plans, store, clock: () => Date.UTC(2026, 5, 1), logger: false, onEvent: (e) => events.push(e), anomalies: { burst: { threshold: 3 } } });
    await burst(limiter);
    release();
    await limiter.close();
    const failures = events.filter((e) => e.type === 'store-error');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ operation: 'anomaly' });
    expect(events.filter((e) => e.type === 'anomaly')).toHaveLength(1);
  });
});
