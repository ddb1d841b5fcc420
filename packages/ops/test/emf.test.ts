// The EMF emitter: aggregated lines that follow the EMF specification, fed by a real limiter.
import { createMemoryStore, createRateLimiter, RateLimitStoreError } from '@airl/ratelimit';
import { createRedisStore } from '@airl/ratelimit/redis';
import { freePorts, startServer } from '@airl/vitest-config/redis';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { createEmfMetrics, EMF_DEFAULTS, type LimiterEvent, METRIC_NAMES } from '../src/emf';

interface EmfDoc {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** The rules of the EMF specification that a line must follow. */
function assertEmf(line: string): EmfDoc {
  const doc = JSON.parse(line) as EmfDoc;
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toMatch(/\S/);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const key of set) expect(typeof doc[key]).toBe('string');
    }
    for (const metric of directive.Metrics) {
      const value = doc[metric.Name];
      if (Array.isArray(value)) {
        expect(value.length).toBeGreaterThan(0);
        expect(value.length).toBeLessThanOrEqual(100);
        for (const v of value) expect(typeof v).toBe('number');
      } else expect(typeof value).toBe('number');
    }
  }
  return doc;
}

const decision = (plan: string, allowed: boolean, durationMs = 1, source = 'redis'): LimiterEvent => ({
  type: 'decision',
  operation: 'check',
  identifier: 'creator-1',
  plan,
  allowed,
  deniedBy: allowed ? undefined : 'hourly',
  durationMs,
  source,
});
const storeError = (): LimiterEvent => ({ type: 'store-error', operation: 'check', error: new RateLimitStoreError('down'), durationMs: 5 });

/** A seeded generator, so sampling is the same on every run. */
function lcg(seed = 42) {
  let s = seed;
  return () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('createEmfMetrics', () => {
  it('aggregates many decisions into one line per plan, with the service-wide and per-plan dimension sets', () => {
    const lines: string[] = [];
    const m = createEmfMetrics({ write: (l) => lines.push(l), flushIntervalMs: false, now: () => 1_700_000_000_000, random: lcg(), perPlan: true });
    for (let i = 0; i < 1000; i++) m.onEvent(decision('pro', i % 4 !== 0, i % 10));
    for (let i = 0; i < 10; i++) m.onEvent(decision('starter', false));
    expect(m.flush()).toEqual(lines);
    expect(lines).toHaveLength(2);
    const [pro, starter] = lines.map(assertEmf);
    expect(pro).toMatchObject({ Service: 'ai-ratelimit', Plan: 'pro', Allowed: 750, Denied: 250, StoreErrors: 0, FailOpen: 0 });
    expect(pro!._aws).toMatchObject({ Timestamp: 1_700_000_000_000, CloudWatchMetrics: [{ Namespace: 'AIRateLimit', Dimensions: [['Service'], ['Service', 'Plan']] }] });
    expect(pro![METRIC_NAMES.latency]).toHaveLength(100);
    expect(starter).toMatchObject({ Plan: 'starter', Allowed: 0, Denied: 10 });
    expect(m.flush()).toEqual([]);
  });

  it('counts store errors, outages and decisions made by failure policies; store errors carry no plan', () => {
    const m = createEmfMetrics({ write: () => undefined, flushIntervalMs: false, perPlan: true });
    m.onEvent(storeError());
    m.onEvent(storeError());
    m.onEvent({ type: 'failure-mode', active: true, mode: 'fallback', reason: 'down' });
    m.onEvent({ type: 'failure-mode', active: false, mode: 'fallback', reason: undefined });
    m.onEvent(decision('pro', true, 1, 'fail-open'));
    m.onEvent(decision('pro', true, 1, 'fallback'));
    m.onEvent(decision('starter', false, 1, 'fail-closed'));
    m.onEvent({ type: 'anomaly', anomaly: { rule: 'burst', identifier: 'c', plan: 'pro', value: 120, threshold: 100, windowMs: 300_000, at: 0, blockedUntil: undefined } });
    const docs = m.flush().map(assertEmf);
    const noPlan = docs.find((d) => d.Plan === undefined)!;
    expect(noPlan).toMatchObject({ StoreErrors: 2, StoreUnavailable: 1, FailOpen: 0 });
    expect(noPlan._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['Service']]);
    expect(noPlan[METRIC_NAMES.latency]).toBeUndefined();
    expect(docs.find((d) => d.Plan === 'pro')).toMatchObject({ FailOpen: 1, Fallback: 1, Allowed: 2, Anomalies: 1 });
    expect(docs.find((d) => d.Plan === 'starter')).toMatchObject({ FailClosed: 1, Denied: 1 });
  });

  it('ignores event types it does not know', () => {
    const m = createEmfMetrics({ write: () => undefined, flushIntervalMs: false });
    m.onEvent({ type: 'something-new' } as unknown as LimiterEvent);
    expect(m.flush()).toEqual([]);
  });

  it('samples latency fairly over the whole interval, not just its start', () => {
    const m = createEmfMetrics({ write: () => undefined, flushIntervalMs: false, random: lcg(7), perPlan: false });
    for (let i = 0; i < 10_000; i++) m.onEvent(decision('pro', true, i));
    const values = assertEmf(m.flush()[0]!)[METRIC_NAMES.latency] as number[];
    expect(values).toHaveLength(100);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(4000);
    expect(mean).toBeLessThan(6000);
  });

  it('takes custom dimensions, and by default publishes one series for every plan', () => {
    const lines: string[] = [];
    const m = createEmfMetrics({ namespace: 'Custom/NS', dimensions: { Service: 's', App: 'web' }, write: (l) => lines.push(l), flushIntervalMs: false });
    m.onEvent(decision('pro', true));
    m.onEvent(decision('starter', true));
    m.flush();
    expect(lines).toHaveLength(1);
    const doc = assertEmf(lines[0]!);
    expect(doc).toMatchObject({ Service: 's', App: 'web', Allowed: 2 });
    expect(doc.Plan).toBeUndefined();
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Custom/NS', Dimensions: [['Service', 'App']] });
  });

  it('flushes on an unref’d interval and on close()', () => {
    vi.useFakeTimers();
    const spy = vi.spyOn(globalThis, 'setInterval');
    const lines: string[] = [];
    const m = createEmfMetrics({ write: (l) => lines.push(l), flushIntervalMs: 10_000 });
    const timer = spy.mock.results[0]!.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    m.onEvent(decision('pro', true));
    vi.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(0);
    vi.advanceTimersByTime(1);
    expect(lines).toHaveLength(1);
    m.onEvent(decision('pro', false));
    expect(m.close()).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(2);
  });

  it('writes JSON lines to stdout by default', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const m = createEmfMetrics({ flushIntervalMs: false });
    m.onEvent(decision('pro', true));
    m.flush();
    expect(write).toHaveBeenCalledTimes(1);
    const text = String(write.mock.calls[0]![0]);
    expect(text.endsWith('}\n')).toBe(true);
    assertEmf(text.trim());
  });

  it('rejects dimensions CloudWatch would not take', () => {
    expect(() => createEmfMetrics({ dimensions: {} })).toThrow(/1 to 29/);
    expect(() => createEmfMetrics({ dimensions: { Plan: 'x' } })).toThrow(/reserved/);
    expect(() => createEmfMetrics({ namespace: '' })).toThrow(/namespace/);
    expect(EMF_DEFAULTS.dimensions).toEqual({ Service: 'ai-ratelimit' });
  });
});

describe('fed by a real limiter', () => {
  it('counts the decisions of a memory-store limiter, per plan when asked', async () => {
    const m = createEmfMetrics({ write: () => undefined, flushIntervalMs: false, perPlan: true });
    const limiter = createRateLimiter({ plans: { pro: { limits: [{ name: 'hourly', limit: 3, window: '1 h' }] } }, onEvent: m.onEvent, store: createMemoryStore() });
    for (let i = 0; i < 5; i++) await limiter.check('creator-1', { plan: 'pro' });
    const doc = assertEmf(m.flush()[0]!);
    expect(doc).toMatchObject({ Plan: 'pro', Allowed: 3, Denied: 2, StoreErrors: 0 });
    expect(doc[METRIC_NAMES.latency]).toHaveLength(5);
  });

  it('gives the alarm math what it needs: every decision counted once, and once more under the policy that answered it', async () => {
    const server = await startServer();
    const m = createEmfMetrics({ write: () => undefined, flushIntervalMs: false });
    const client = new Redis({ host: server.host, port: server.port, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    const limit = [{ name: 'hourly', limit: 100, window: '1 h' }] as const;
    const limiter = createRateLimiter({
      plans: { f: { limits: [...limit], whenStoreFails: 'fallback' }, o: { limits: [...limit], whenStoreFails: 'open' }, c: { limits: [...limit], whenStoreFails: 'closed' } },
      store: createRedisStore({ client, timeout: '300 ms', prefix: `emf-${Date.now()}` }),
      onEvent: m.onEvent,
      controls: false,
      logger: false,
    });
    try {
      for (const plan of ['f', 'o', 'c'] as const) for (let i = 0; i < 10; i++) expect((await limiter.check(`u-${plan}`, { plan })).degraded).toBeUndefined();
      await server.stop();
      const answers = [];
      for (const plan of ['f', 'o', 'c'] as const) for (let i = 0; i < 10; i++) answers.push((await limiter.check(`u-${plan}`, { plan })).degraded);
      expect(answers.filter((d) => d === 'fallback')).toHaveLength(10);
      expect(answers.filter((d) => d === 'open')).toHaveLength(10);
      expect(answers.filter((d) => d === 'closed')).toHaveLength(10);
    } finally {
      client.disconnect();
      await limiter.close();
      await server.stop();
    }
    const doc = assertEmf(m.flush()[0]!);
    // 60 decisions: 30 answered by Redis, 10 by each failure policy (closed ones are denials)
    expect(doc).toMatchObject({ Allowed: 50, Denied: 10, Fallback: 10, FailOpen: 10, FailClosed: 10, StoreUnavailable: 1 });
    const n = (name: string) => doc[name] as number;
    const share = (100 * (n('Fallback') + n('FailOpen') + n('FailClosed'))) / (n('Allowed') + n('Denied'));
    expect(share).toBe(50);
    // the breaker keeps the outage's calls off the store: errors say little about how many calls it hit
    expect(n('StoreErrors')).toBeGreaterThanOrEqual(1);
    expect(n('StoreErrors')).toBeLessThanOrEqual(3);
  });

  it('counts store errors, the outage and the fallback decisions when Redis does not answer', async () => {
    const [port] = await freePorts(1);
    const m = createEmfMetrics({ write: () => undefined, flushIntervalMs: false });
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    const limiter = createRateLimiter({ store: createRedisStore({ client, timeout: '300 ms' }), onEvent: m.onEvent, controls: false, logger: false });
    expect(await limiter.check('creator-1', { plan: 'pro' })).toMatchObject({ allowed: true, degraded: 'fallback' });
    expect(await limiter.check('creator-1', { plan: 'pro' })).toMatchObject({ allowed: true, degraded: 'fallback', remaining: 98 });
    client.disconnect();
    await limiter.close();
    // one failed call opens the breaker: the second never waits on Redis
    const doc = assertEmf(m.flush()[0]!);
    expect(doc).toMatchObject({ StoreUnavailable: 1, Fallback: 2, Allowed: 2, Denied: 0 });
    // the failed check, and the limiter's presence heartbeat that the first call started
    expect(doc.StoreErrors).toBeGreaterThanOrEqual(1);
    expect(doc.StoreErrors).toBeLessThanOrEqual(2);
  });
});
