// The old project's three property files (enforcement, plan-based, reset), for real this time,
// against Redis; plus the contract points LEGACY.md lists as bugs.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { fc, it } from '@fast-check/vitest';
import { afterEach, describe, expect } from 'vitest';

import { createRateLimiter } from '../src/index';
import { checkCreatorRateLimit, type CreatorPlan, getRateLimitStatus, RateLimitError, setLegacyRateLimiter } from '../src/legacy';
import { closing, makeRedisStore, manualClock } from './fixtures/stores';

const LIMITS: Record<CreatorPlan, number> = { starter: 50, pro: 100, business: 500 };
const HOUR = 3_600_000;
const plan = fc.constantFrom<CreatorPlan>('starter', 'pro', 'business');
const creatorId = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 1e9 }));

function useRedis() {
  const clock = manualClock();
  setLegacyRateLimiter(closing(createRateLimiter<CreatorPlan>({ store: makeRedisStore('redis'), clock })));
  return clock;
}
afterEach(() => setLegacyRateLimiter(undefined));

const rejection = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);

describe('rate-limit-enforcement', () => {
  it.prop([creatorId, plan], { numRuns: 12 })('allows the plan limit, then throws RateLimitError', async (id, p) => {
    useRedis();
    for (let i = 0; i < LIMITS[p]; i++) await checkCreatorRateLimit(id, p);
    const error = await rejection(checkCreatorRateLimit(id, p));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ name: 'RateLimitError', message: 'Rate limit exceeded', limit: LIMITS[p], remaining: 0, retryAfter: 3600 });
  });

  it.prop([fc.integer({ min: 1, max: 1e9 })], { numRuns: 10 })('a number and its string are the same creator', async (id) => {
    useRedis();
    for (let i = 0; i < 50; i++) await checkCreatorRateLimit(i % 2 ? id : String(id), 'starter');
    expect(await rejection(checkCreatorRateLimit(id, 'starter'))).toBeInstanceOf(RateLimitError);
    expect(await rejection(checkCreatorRateLimit(String(id), 'starter'))).toBeInstanceOf(RateLimitError);
  });

  it.prop([fc.integer({ min: 1, max: 30 })], { numRuns: 8 })('denied calls are not counted: retrying never extends the lock-out', async (retries) => {
    const clock = useRedis();
    for (let i = 0; i < 50; i++) await checkCreatorRateLimit('c', 'starter');
    for (let i = 0; i < retries; i++) {
      clock.advance(60_000);
      expect(await rejection(checkCreatorRateLimit('c', 'starter'))).toBeInstanceOf(RateLimitError);
    }
    clock.set(clock() + HOUR - retries * 60_000);
    await expect(checkCreatorRateLimit('c', 'starter')).resolves.toBeUndefined();
  });
});

describe('rate-limit-plan-based', () => {
  it.prop([plan, creatorId], { numRuns: 12 })('status reports the plan limit and remaining', async (p, id) => {
    useRedis();
    expect(await getRateLimitStatus(id, p)).toMatchObject({ limit: LIMITS[p], remaining: LIMITS[p] });
    await checkCreatorRateLimit(id, p);
    expect(await getRateLimitStatus(id, p)).toMatchObject({ limit: LIMITS[p], remaining: LIMITS[p] - 1 });
  });

  it('defaults to pro', async () => {
    useRedis();
    for (let i = 0; i < 100; i++) await checkCreatorRateLimit('d');
    expect(await rejection(checkCreatorRateLimit('d'))).toMatchObject({ limit: 100 });
    expect(await getRateLimitStatus('d')).toMatchObject({ limit: 100, remaining: 0 });
  });

  it('an upgrade does not start a fresh window', async () => {
    useRedis();
    for (let i = 0; i < 50; i++) await checkCreatorRateLimit('u', 'starter');
    expect(await getRateLimitStatus('u', 'pro')).toMatchObject({ limit: 100, remaining: 50 });
  });

  it('status is read-only', async () => {
    useRedis();
    for (let i = 0; i < 20; i++) await getRateLimitStatus('r', 'starter');
    expect(await getRateLimitStatus('r', 'starter')).toMatchObject({ remaining: 50 });
  });
});

describe('rate-limit-reset', () => {
  it.prop([plan, fc.integer({ min: 1, max: HOUR - 1 })], { numRuns: 8 })(
    'capacity returns when the oldest call leaves the hour, and retryAfter says when',
    async (p, gap) => {
      const clock = useRedis();
      const start = clock();
      await checkCreatorRateLimit('x', p);
      clock.advance(gap);
      for (let i = 1; i < LIMITS[p]; i++) await checkCreatorRateLimit('x', p);
      const error = (await rejection(checkCreatorRateLimit('x', p))) as RateLimitError;
      expect(error.retryAfter).toBe(Math.ceil((start + HOUR - clock()) / 1000));
      expect((await getRateLimitStatus('x', p)).reset).toBe(start + HOUR);
      clock.set(start + HOUR);
      await expect(checkCreatorRateLimit('x', p)).resolves.toBeUndefined();
    },
  );
});

describe('no connection at import, no hang when Redis is down', () => {
  const run = promisify(execFile);
  const script = fileURLToPath(new URL('./fixtures/legacy-down.ts', import.meta.url));

  it('imports without connecting; with Redis down, answers within the bound from the fallback and says so', async () => {
    // a port nothing listens on
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1' } });
    const report = JSON.parse(stdout) as { imported: boolean; remaining: number; ms: number };
    expect(report.imported).toBe(true);
    // the first call waits at most the store timeout (1 s), the next one none: the breaker is open
    expect(report.ms).toBeLessThan(2500);
    expect(report.remaining).toBe(99);
    const lines = stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(lines.some((l) => l.level === 'error' && l.msg.includes('store unavailable'))).toBe(true);
  });

  it('with nothing configured, uses memory', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const { stdout } = await run(process.execPath, ['--import', 'tsx', script], { env });
    expect(JSON.parse(stdout)).toMatchObject({ imported: true, remaining: 99 });
  });
});
