import { describe, expect, it, vi } from 'vitest';

import { formatCount, formatCountdown, fullBy, pollWhileVisible } from '../src/display';

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

describe('pollWhileVisible', () => {
  it('refreshes every period while visible, at once when shown again, and stops when told', () => {
    vi.useFakeTimers();
    try {
      const listeners = new Set<() => void>();
      const page = { visibilityState: 'visible', addEventListener: (_: 'visibilitychange', l: () => void) => listeners.add(l), removeEventListener: (_: 'visibilitychange', l: () => void) => listeners.delete(l) };
      let calls = 0;
      const stop = pollWhileVisible(page, () => calls++, 3000);
      vi.advanceTimersByTime(6000);
      expect(calls).toBe(2);
      page.visibilityState = 'hidden';
      vi.advanceTimersByTime(9000);
      expect(calls).toBe(2);
      page.visibilityState = 'visible';
      for (const l of listeners) l();
      expect(calls).toBe(3);
      stop();
      expect(listeners.size).toBe(0);
      vi.advanceTimersByTime(9000);
      expect(calls).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
