import { describe, expect, it } from 'vitest';

import { atMostEvery } from '../src/limiters';

describe('atMostEvery', () => {
  it('passes the first call, drops the calls within the interval, passes the next one after it', () => {
    let now = 1_000;
    const seen: string[] = [];
    const log = atMostEvery(60_000, (message: string) => seen.push(message), () => now);
    log('first');
    now += 59_999;
    log('dropped');
    now += 1;
    log('second');
    log('dropped too');
    expect(seen).toEqual(['first', 'second']);
  });
});
