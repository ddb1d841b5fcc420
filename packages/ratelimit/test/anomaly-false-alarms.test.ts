// False alarms of the default anomaly rules on normal traffic, on simulated time: creators on
// several plan shapes (one with a per-minute first limit), each using 10-90% of its limits in
// sessions of 1-4 hours with 1-10 idle hours between (random arrivals, random token costs).
// The default rules must raise nothing. Each memory run simulates CREATORS x HOURS creator-hours
// (ANOMALY_CREATORS and ANOMALY_HOURS raise them for a longer measurement); Redis and the
// cluster run a smaller share, which must give the same answers.
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { type Anomaly, createMemoryStore, createRateLimiter, type PlansConfig } from '../src/index';
import { makeStore, manualClock, type StoreKind } from './fixtures/stores';
import { LEGACY_STARTER } from './fixtures/anomaly';
import { HOUR_MS } from '../src/time';

const HOUR = HOUR_MS;

const plans = {
  // the legacy plan
  starter: LEGACY_STARTER,
  // the README's pro example: a per-minute limit first
  pro: {
    limits: [
      { name: 'burst', limit: 10, window: '1 m' },
      { name: 'hourly', limit: 200, window: '1 h' },
      { name: 'tokens', limit: 2_000_000, window: '1 d', unit: 'tokens', algorithm: 'sliding-window' },
    ],
  },
  // a daily request budget and an hourly token bucket
  business: {
    limits: [
      { name: 'daily', limit: 3000, window: '1 d', algorithm: 'sliding-window' },
      { name: 'token-rate', limit: 400_000, window: '1 h', unit: 'tokens', algorithm: 'token-bucket' },
    ],
  },
} satisfies PlansConfig;
type PlanName = keyof typeof plans;

/** Calls an hour and tokens an hour a creator at 100% would use. */
const FULL: Record<PlanName, { calls: number; tokens: number }> = {
  starter: { calls: 50, tokens: 1_000_000 / 8 },
  pro: { calls: 200, tokens: 2_000_000 / 8 },
  business: { calls: 3000 / 8, tokens: 400_000 },
};

const creatorArb = fc.record({
  plan: fc.constantFrom<PlanName>('starter', 'pro', 'business'),
  use: fc.double({ min: 0.1, max: 0.9, noNaN: true }),
  seed: fc.integer(),
  startMs: fc.integer({ min: 0, max: HOUR - 1 }),
});
type Creator = typeof creatorArb extends fc.Arbitrary<infer T> ? T : never;

/** A small seeded generator (mulberry32): the traffic follows from the creator's seed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The creator's calls over `hours`: sessions of 1-4 h with 1-10 idle hours between, random arrivals. */
function traffic(c: Creator, hours: number): { at: number; tokens: number }[] {
  const rnd = random(c.seed);
  const calls = FULL[c.plan].calls * c.use;
  const tokensPerCall = (FULL[c.plan].tokens * c.use) / calls;
  const out: { at: number; tokens: number }[] = [];
  let t = c.startMs;
  while (t < hours * HOUR) {
    const end = t + (1 + Math.floor(rnd() * 4)) * HOUR;
    for (;;) {
      t += Math.ceil((-Math.log(1 - rnd()) * HOUR) / calls);
      if (t >= end || t >= hours * HOUR) break;
      out.push({ at: t, tokens: Math.max(1, Math.round(tokensPerCall * (0.5 + rnd()))) });
    }
    t = end + (1 + Math.floor(rnd() * 10)) * HOUR + Math.floor(rnd() * HOUR);
  }
  return out;
}

/**
 * The false-alarm bound the README states: at most one anomaly per started 1,000 active
 * creator-hours. Not zero: a creator at 10% of the starter plan makes about 5 calls an hour, and
 * when the first three hours it is seen active are all low by chance (1 or 2 calls), the learned
 * normal hour is low and a later ordinary hour of 9 calls is 5 x it (seen once in 5,760
 * creator-hours, seed -708662698). What would close it is in the README.
 */
const ACTIVE_HOURS_PER_ALARM = 1000;

async function anomaliesOf(kind: StoreKind, creators: readonly Creator[], hours: number): Promise<{ seen: Anomaly[]; allowed: number }> {
  const seen: Anomaly[] = [];
  const active = new Set<string>();
  for (const [i, c] of creators.entries()) {
    const clock = manualClock(Date.UTC(2026, 5, 1));
    const start = clock();
    const limiter = createRateLimiter({
      plans,
      store: kind === 'memory' ? createMemoryStore() : makeStore(kind),
      clock,
      logger: false,
      anomalies: { onAnomaly: (a) => seen.push(a) },
    });
    for (const call of traffic(c, hours)) {
      clock.set(start + call.at);
      active.add(`${i}:${Math.floor(call.at / HOUR)}`);
      await limiter.check(`creator-${i}`, { plan: c.plan, cost: call.tokens });
    }
    await limiter.close();
  }
  // the traffic is real: creators are active in about a third of the hours
  expect(active.size).toBeGreaterThan((creators.length * hours) / 6);
  if (process.env.ANOMALY_CREATORS) process.stdout.write(`${kind}: ${seen.length} anomalies in ${creators.length * hours} creator-hours (${active.size} active)\n`);
  return { seen, allowed: Math.ceil(active.size / ACTIVE_HOURS_PER_ALARM) };
}

const CREATORS = Number(process.env.ANOMALY_CREATORS ?? 60);
const HOURS = Number(process.env.ANOMALY_HOURS ?? 48);

describe('the default rules on normal traffic', () => {
  prop.prop([fc.array(creatorArb, { minLength: CREATORS, maxLength: CREATORS })], { numRuns: 2 })(
    `memory: at most one anomaly per 1,000 active creator-hours, ${CREATORS} creators x ${HOURS} h`,
    async (creators) => {
      const { seen, allowed } = await anomaliesOf('memory', creators, HOURS);
      expect(seen.length).toBeLessThanOrEqual(allowed);
    },
  );
  prop.prop([fc.array(creatorArb, { minLength: 8, maxLength: 8 })], { numRuns: 1 })('redis: at most one anomaly per 1,000 active creator-hours, 8 creators x 24 h', async (creators) => {
    const { seen, allowed } = await anomaliesOf('redis', creators, 24);
    expect(seen.length).toBeLessThanOrEqual(allowed);
  });
  prop.prop([fc.array(creatorArb, { minLength: 4, maxLength: 4 })], { numRuns: 1 })('cluster: at most one anomaly per 1,000 active creator-hours, 4 creators x 24 h', async (creators) => {
    const { seen, allowed } = await anomaliesOf('cluster', creators, 24);
    expect(seen.length).toBeLessThanOrEqual(allowed);
  });
});
