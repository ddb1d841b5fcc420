// False alarms of the default anomaly rules on normal traffic, on simulated time: creators on
// several plan shapes (one with a per-minute first limit), each using 10-90% of its limits in
// sessions of 1-4 hours with 1-10 idle hours between (random arrivals, random token costs).
// The default rules must raise nothing. Each memory run simulates CREATORS x HOURS creator-hours
// (ANOMALY_CREATORS and ANOMALY_HOURS raise them for a longer measurement); Redis and the
// cluster run a smaller share (ANOMALY_REDIS_CREATORS raises Redis's), which must give the same
// answers. ANOMALY_USE_MAX and ANOMALY_PLAN narrow the creators to the quietest.
import { fc, it as prop } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';

import { type Anomaly, createMemoryStore, createRateLimiter, type PlansConfig } from '../src/index';
import { makeStore, manualClock, STORE_KINDS, type StoreKind } from './fixtures/stores';
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

/**
 * To measure the hardest case, the quietest creators: ANOMALY_USE_MAX lowers the most of its
 * limits a creator uses (default 0.9), ANOMALY_PLAN keeps one plan (the starter's 50 calls an hour
 * make the fewest calls).
 */
const USE_MAX = Number(process.env.ANOMALY_USE_MAX ?? 0.9);
const PLAN = process.env.ANOMALY_PLAN as PlanName | undefined;
if (PLAN !== undefined && !(PLAN in plans)) throw new Error(`ANOMALY_PLAN=${PLAN}: must be one of ${Object.keys(plans).join(', ')}`);

const creatorArb = fc.record({
  plan: PLAN === undefined ? fc.constantFrom<PlanName>('starter', 'pro', 'business') : fc.constant(PLAN),
  use: fc.double({ min: 0.1, max: USE_MAX, noNaN: true }),
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

async function anomaliesOf(kind: StoreKind, creators: readonly Creator[], hours: number): Promise<Anomaly[]> {
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
  if (process.env.ANOMALY_CREATORS || process.env.ANOMALY_REDIS_CREATORS) process.stdout.write(`${kind}: ${seen.length} anomalies in ${creators.length * hours} creator-hours (${active.size} active)\n`);
  return seen;
}

const CREATORS = Number(process.env.ANOMALY_CREATORS ?? 60);
const HOURS = Number(process.env.ANOMALY_HOURS ?? 48);
const REDIS_CREATORS = Number(process.env.ANOMALY_REDIS_CREATORS ?? 8);

describe('the default rules on normal traffic', () => {
  prop.prop([fc.array(creatorArb, { minLength: CREATORS, maxLength: CREATORS })], { numRuns: 2 })(`memory: no anomaly, ${CREATORS} creators x ${HOURS} h`, async (creators) => {
    expect(await anomaliesOf('memory', creators, HOURS)).toEqual([]);
  });
  prop.prop([fc.array(creatorArb, { minLength: REDIS_CREATORS, maxLength: REDIS_CREATORS })], { numRuns: 1 })(`redis: no anomaly, ${REDIS_CREATORS} creators x 24 h`, async (creators) => {
    expect(await anomaliesOf('redis', creators, 24)).toEqual([]);
  });
  prop.prop([fc.array(creatorArb, { minLength: 4, maxLength: 4 })], { numRuns: 1 })('cluster: no anomaly, 4 creators x 24 h', async (creators) => {
    expect(await anomaliesOf('cluster', creators, 24)).toEqual([]);
  });

  // The false alarm a CI run found before the noise margin (creator 43 of the second case of
  // fast-check seed -708662698): about 5 calls an hour, whose first three active hours, two of
  // them partial, held 1, 1 and 2 calls; 5 x that normal hour (4,315 tokens) is 21,575, and the
  // ordinary full hour after it cost 21,719 in 8 calls. With the margin (3 standard deviations of
  // 5 x 2 calls, at 2,158 tokens a call) the threshold is 42,043.
  const lowStart: Creator = { plan: 'starter', use: 0.10000000000000012, seed: 2127096662, startMs: 859565 };
  it('the traffic is the case found: hours of 1, 1 and 2 calls, then 8 calls', () => {
    const byHour = new Map<number, { calls: number; tokens: number }>();
    for (const c of traffic(lowStart, 10)) {
      const h = byHour.get(Math.floor(c.at / HOUR)) ?? { calls: 0, tokens: 0 };
      byHour.set(Math.floor(c.at / HOUR), { calls: h.calls + 1, tokens: h.tokens + c.tokens });
    }
    expect([...byHour]).toEqual([
      [0, { calls: 1, tokens: 1669 }],
      [1, { calls: 1, tokens: 3101 }],
      [7, { calls: 2, tokens: 4315 }],
      [8, { calls: 8, tokens: 21_719 }],
      [9, { calls: 4, tokens: 9244 }],
    ]);
  });
  it.each(STORE_KINDS)('%s: a quiet creator whose first hours were low by chance raises nothing', async (kind) => {
    expect(await anomaliesOf(kind, [lowStart], 48)).toEqual([]);
  });
});
