// The limiter's options, checked and given their defaults by one zod schema (like the plans' in
// src/policy.ts): the rest of the limiter reads settings in ms, never raw options. Every message
// names the option and says what it must be.
import { z } from 'zod';

import { type Duration, toMs } from '../duration';
import { RateLimitConfigError } from '../errors';
import type { Clock, RateLimiterOptions } from './types';

/** A bad value as a message shows it. */
function text(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? typeof value);
}

/** A duration option in ms: `fallback` when absent; `toMs`'s own message when bad. */
const duration = (what: string, fallback: Duration) =>
  z.unknown().transform((value, ctx) => {
    try {
      return toMs((value ?? fallback) as Duration, what);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/** A whole number >= 1, `fallback` when absent. */
const count = (what: string, fallback: number) =>
  z.unknown().transform((value, ctx) => {
    const n = value ?? fallback;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 1) return n;
    ctx.addIssue({ code: 'custom', message: `${what}: ${text(n)} must be a whole number >= 1` });
    return z.NEVER;
  });

/** One of a few words, `fallback` when absent. */
const oneOf = <T extends string>(what: string, words: readonly T[], fallback: T, expected: string) =>
  z.unknown().transform((value, ctx) => {
    const word = value ?? fallback;
    if (words.includes(word as T)) return word as T;
    ctx.addIssue({ code: 'custom', message: `${what}: '${text(word)}' must be ${expected}` });
    return z.NEVER;
  });

const clock = z.unknown().transform((value, ctx): Clock => {
  const c = value ?? 'store';
  if (typeof c === 'function' || c === 'store' || c === 'local') return c as Clock;
  ctx.addIssue({ code: 'custom', message: `clock: '${text(c)}' must be 'store', 'local' or a function returning epoch ms` });
  return z.NEVER;
});

/** A group of settings that `false` turns off. */
const group = <S extends z.ZodType>(settings: S) => z.union([z.literal(false), settings]);

const settingsSchema = z.object({
  reservationTtlMs: duration('reservationTtl', '10 m'),
  maxIdentifierLength: count('maxIdentifierLength', 256),
  clock,
  whenStoreFails: oneOf('whenStoreFails', ['open', 'closed', 'fallback'], 'fallback', "'open', 'closed' or 'fallback'"),
  storeRetryAfterMs: duration('storeRetryAfter', '2 s'),
  fallbackBudget: oneOf('fallbackBudget', ['shared', 'full'], 'shared', "'shared' or 'full'"),
  breaker: z.object({ failures: count('breaker.failures', 3), downAfterMs: duration('breaker.downAfter', '5 s') }),
  presence: z.object({ refreshMs: duration('presence.refresh', '5 s'), windowMs: duration('presence.window', '30 s') }),
  denyCache: group(z.object({ maxEntries: z.unknown().transform((v) => (v ?? 10_000) as number) })),
  controls: group(z.object({ refreshMs: duration('controls.refresh', '30 s') })),
  topConsumers: group(
    z.object({
      flushMs: duration('topConsumers.flushInterval', '5 s'),
      perFlush: count('topConsumers.perFlush', 100),
      boardSize: count('topConsumers.boardSize', 1000),
    }),
  ),
});

/** The limiter's settings: every option checked, defaulted and in ms. */
export type LimiterSettings = z.output<typeof settingsSchema>;

/**
 * Checks the options (all but the plans, the store, the anomaly rules and the callbacks, which
 * their own modules check) and applies the defaults. Throws {@link RateLimitConfigError} naming
 * every bad option.
 */
export function parseOptions(options: RateLimiterOptions<string>): LimiterSettings {
  const parsed = settingsSchema.safeParse({
    reservationTtlMs: options.reservationTtl,
    maxIdentifierLength: options.maxIdentifierLength,
    clock: options.clock,
    whenStoreFails: options.whenStoreFails,
    storeRetryAfterMs: options.storeRetryAfter,
    fallbackBudget: options.fallbackBudget,
    breaker: { failures: options.breaker?.failures, downAfterMs: options.breaker?.downAfter },
    presence: { refreshMs: options.presence?.refresh, windowMs: options.presence?.window },
    denyCache: options.denyCache === false ? false : { maxEntries: options.denyCache?.maxEntries },
    controls: options.controls === false ? false : { refreshMs: options.controls?.refresh },
    topConsumers:
      options.topConsumers === false
        ? false
        : { flushMs: options.topConsumers?.flushInterval, perFlush: options.topConsumers?.perFlush, boardSize: options.topConsumers?.boardSize },
  });
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => (i.code === 'custom' ? i.message : `${i.path.join('.')}: ${i.message}`));
  throw new RateLimitConfigError(issues.join('; '), issues);
}
