import { describe, expect, it } from 'vitest';

import { formatCount, formatCountdown, fullBy } from '../src/display';

const DAY = 86_400_000;

describe('display helpers', () => {
  it('writes a wait as a clock, seconds rounded up', () => {
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(1)).toBe('0:01');
    expect(formatCountdown(51_000)).toBe('0:51');
    expect(formatCountdown(59 * 60_000 + 32_001)).toBe('59:33');
    expect(formatCountdown(16 * 3_600_000 + 5_000)).toBe('16:00:05');
    expect(formatCountdown(-5)).toBe('0:00');
  });

  it('groups thousands', () => {
    expect(formatCount(20_000)).toBe('20,000');
    expect(formatCount(66)).toBe('66');
  });

  it('puts "all back" two windows after the current one began, and nowhere for other algorithms or no usage', () => {
    const sliding = { algorithm: 'sliding-window', windowMs: DAY };
    const now = 10 * DAY + 5 * 3_600_000;
    expect(fullBy(sliding, 66, now)).toBe(12 * DAY);
    // it stays put while time passes within the window
    expect(fullBy(sliding, 66, now + 3_600_000)).toBe(12 * DAY);
    expect(fullBy(sliding, 0, now)).toBeNull();
    expect(fullBy({ algorithm: 'sliding-log', windowMs: DAY }, 66, now)).toBeNull();
  });
});
