/// <reference types="@airl/vitest-config/provided" />
// The benchmark's pieces against the real Redis, quickly and without timing anything: every
// implementation it measures must still limit correctly, or its figures mean nothing.
import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';

import { checkCommand, librarySource, parseCsv, RAND } from '../bench/ceiling';
import { renderChart } from '../bench/chart';
import { drive, identifiers, median, prng } from '../bench/harness';
import type { Implementation, LimitSpec } from '../bench/implementation';
import { countKeys, removeKeys } from '../bench/keys';
import { measureMemory, slope } from '../bench/memory';
import { ours } from '../bench/ours';
import { SHARED_BENCH_BUDGET } from '../bench/plans';
import { minimalLog } from '../bench/peers/minimal-log';
import { multiZset } from '../bench/peers/multi-zset';
import { flexible } from '../bench/peers/rate-limiter-flexible';
import { upstash, upstashAdapter, withoutShebang } from '../bench/peers/upstash';
import { delta, parseSnapshot, snapshot } from '../bench/redis-info';
import { bare, CASES, floorLibrary, sendChecks } from '../bench/script-cost';

const url = inject('redisUrl');
const run = `test-bench-${randomUUID().slice(0, 8)}`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(url, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await removeKeys(redis, run);
  await redis.quit();
});

const spec: LimitSpec = { limit: 3, windowMs: 60_000 };

const implementations: Implementation[] = [
  ours({ id: 'ours-log', label: 'log', prefix: `${run}:ours-log`, url, spec, plan: 'log' }),
  ours({ id: 'ours-window', label: 'window', prefix: `${run}:ours-window`, url, spec, plan: 'window' }),
  flexible({ id: 'rlf', label: 'rate-limiter-flexible', prefix: `${run}:rlf`, url, spec }),
  flexible({ id: 'rlf-block', label: 'rate-limiter-flexible, in-memory block', prefix: `${run}:rlf-block`, url, spec, inMemoryBlock: true }),
  upstash({ id: 'upstash', label: '@upstash/ratelimit', prefix: `${run}:upstash`, url, spec }),
  upstash({ id: 'upstash-nocache', label: '@upstash/ratelimit, no cache', prefix: `${run}:upstash-nocache`, url, spec, ephemeralCache: false }),
  multiZset({ id: 'multi', label: 'MULTI sorted set', prefix: `${run}:multi`, url, spec }),
  minimalLog({ id: 'minimal-log', label: 'minimal log script', prefix: `${run}:minimal-log`, url, spec }),
];

// the cluster section's rows, through ioredis Cluster clients (keys go away with the test cluster)
const cluster = inject('clusterNodes');
const onCluster: Implementation[] = [
  ours({ id: 'ours-log', label: 'log', prefix: `${run}:c-ours-log`, url, cluster, spec, plan: 'log' }),
  ours({ id: 'ours-window', label: 'window', prefix: `${run}:c-ours-window`, url, cluster, spec, plan: 'window' }),
  flexible({ id: 'rlf', label: 'rate-limiter-flexible', prefix: `${run}:c-rlf`, url, cluster, spec }),
  upstash({ id: 'upstash', label: '@upstash/ratelimit (identifier in a hash tag)', prefix: `${run}:c-upstash`, url, cluster, spec }),
];

/** Five calls of one identifier and one of another: the limit (3), then denials, per identifier. */
async function allowsThenDenies(impl: Implementation) {
  const session = await impl.open();
  try {
    const answers: boolean[] = [];
    for (let i = 0; i < spec.limit + 2; i++) answers.push(await session.check('000000000001'));
    expect(answers).toEqual([true, true, true, false, false]);
    expect(await session.check('000000000002')).toBe(true);
    expect(session.sent()).toBeGreaterThan(0);
  } finally {
    await session.close();
  }
}

describe('every benchmarked implementation', () => {
  it.each(implementations.map((i) => [i.label, i] as const))('%s allows its limit, then denies, per identifier', async (_, impl) => {
    await allowsThenDenies(impl);
    expect(await countKeys(redis, impl.prefix)).toBeGreaterThan(0);
  });

  it.each(onCluster.map((i) => [i.label, i] as const))('on a cluster, %s allows its limit, then denies, per identifier', async (_, impl) => {
    await allowsThenDenies(impl);
  });

  it('the three-limit plan charges its token limit by the call cost', async () => {
    const impl = ours({ id: 'ours-plan3', label: 'plan', prefix: `${run}:ours-plan3`, url, spec, plan: 'plan3' });
    const session = await impl.open();
    try {
      expect(await session.check('000000000001')).toBe(true);
    } finally {
      await session.close();
    }
    // a sliding-window limit's field: window index, current, previous, kept time as doubles (see sliding-window.lua)
    const tokens = await redis.hgetBuffer(`${impl.prefix}:{000000000001}`, 'tokens-per-day.sw');
    expect(tokens?.readDoubleBE(8)).toBe(250);
  });
});

describe('the creator plan + shared budget row', () => {
  it('charges the provider budget and the creator share with every call', async () => {
    const impl = ours({ id: 'ours-plan3-shared', label: 'shared', prefix: `${run}:ours-plan3-shared`, url, spec, plan: 'plan3', options: { shared: SHARED_BENCH_BUDGET } });
    const session = await impl.open();
    try {
      expect(await session.check('000000000001')).toBe(true);
      expect(await session.check('000000000002')).toBe(true);
    } finally {
      await session.close();
    }
    const budget = await redis.hgetBuffer(`${impl.prefix}:{~shared~provider}`, 'provider-tokens.sw');
    expect(budget?.readDoubleBE(8)).toBe(500);
    const share = await redis.hgetBuffer(`${impl.prefix}:{000000000001}`, 'provider-tokens-share.sw');
    expect(share?.readDoubleBE(8)).toBe(250);
  });
});

describe('the @upstash/ratelimit adapter', () => {
  const script = '#!lua flags=allow-key-locking\nreturn redis.call("INCR", KEYS[1])';

  it('stock Redis rejects an Upstash shebang flag; the adapter runs the script without it', async () => {
    await expect(redis.eval(script, 1, `${run}:shebang`)).rejects.toThrow(/flag|shebang/i);
    expect(withoutShebang(script)).toBe('return redis.call("INCR", KEYS[1])');
    expect(withoutShebang('return 1')).toBe('return 1');
  });

  it('answers NOSCRIPT for a hash it has not loaded, then maps the original hash to EVALSHA', async () => {
    const adapter = upstashAdapter(redis);
    const sha = (await import('node:crypto')).createHash('sha1').update(script).digest('hex');
    await expect(adapter.evalsha(sha, [`${run}:shebang`], [])).rejects.toThrow(/NOSCRIPT/);
    expect(await adapter.eval(script, [`${run}:shebang`], [])).toBe(1);
    expect(await adapter.evalsha(sha, [`${run}:shebang`], [])).toBe(2);
  });
});

describe('the redis-benchmark ceiling', () => {
  it('sends the store’s own keys and arguments, and they run as a check', async () => {
    await redis.call('FUNCTION', 'LOAD', 'REPLACE', librarySource);
    const command = await checkCommand(`${run}:ceiling`, { limit: 1000, windowMs: 10_000 });
    expect(command[0]).toBe('FCALL');
    expect(command[1]).toMatch(/^airl_[0-9a-f]+_check$/);
    // a sliding-log plan declares only its list (no state hash on a plain check)
    expect(command[2]).toBe('1');
    expect(command.filter((a) => a.includes(RAND))).toHaveLength(1);
    const [name, ...args] = command.map((a) => a.replace(RAND, '000000000042'));
    const reply = (await redis.call(name!, ...args)) as number[];
    // the server's time (the check asked for its clock), then the log's remaining (no status for a
    // plan of one limit: remaining's sign says it was allowed) and resetAt
    expect(reply).toHaveLength(3);
    expect(reply[1]).toBe(999);
  });

  it('script-cost sends the store’s commands, and each case’s calls-only function runs them too', async () => {
    await redis.call('FUNCTION', 'LOAD', 'REPLACE', librarySource);
    for (const c of CASES) {
      const command = await checkCommand(`${run}:cost`, { limit: 1000, windowMs: 10_000 }, c.plan, c.options);
      await redis.call('FUNCTION', 'LOAD', 'REPLACE', floorLibrary(c.callsOnly));
      // both are allowed every time, and both leave the same keys
      expect(await sendChecks(redis, command[1]!, command, 5, 1_000_000, bare(c), 20)).toBe(20);
      const checked = await countKeys(redis, `${run}:cost`);
      await removeKeys(redis, `${run}:cost`);
      expect(await sendChecks(redis, 'floor', command, 5, 1_000_000, bare(c), 20)).toBe(20);
      expect(await countKeys(redis, `${run}:cost`)).toBe(checked);
      await removeKeys(redis, `${run}:cost`);
    }
    await redis.call('FUNCTION', 'DELETE', 'airl_cost_floor');
  });

  it('reads redis-benchmark --csv', () => {
    const out = '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n"EVALSHA x","12345.67","1.0","0.1","0.9","2.0","3.5","9.0"\n';
    expect(parseCsv(out)).toMatchObject({ checksPerSecond: 12345.67, p50Ms: 0.9, p99Ms: 3.5 });
  });
});

describe('the harness', () => {
  it('draws the same identifiers for the same seed', () => {
    const a = prng(42);
    const b = prng(42);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    expect(identifiers(3)).toEqual(['000000000000', '000000000001', '000000000002']);
  });

  it('runs workers for a while and counts what it saw', async () => {
    let calls = 0;
    const sample = await drive(
      async () => {
        calls++;
        await Promise.resolve();
        return calls % 2 === 0;
      },
      { inFlight: 4, identifiers: 10, durationMs: 30, warmupMs: 0, seed: 1 },
      30,
      1,
    );
    expect(sample.checks).toBe(calls);
    expect(sample.checks).toBeGreaterThan(0);
    expect(sample.allowedShare).toBeGreaterThan(0.4);
    expect(sample.p99Ms).toBeGreaterThanOrEqual(sample.p50Ms);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('counts top-level commands and every command Redis ran from INFO', async () => {
    const sha = String(await redis.script('LOAD', 'redis.call("INCR", KEYS[1]); redis.call("INCR", KEYS[1]); return 1'));
    const before = await snapshot(redis);
    for (let i = 0; i < 5; i++) await redis.evalsha(sha, 1, `${run}:info`);
    const d = delta(before, await snapshot(redis), ['evalsha']);
    // other clients may share this Redis: at least ours
    expect(d.topLevel).toBeGreaterThanOrEqual(5);
    expect(d.all).toBeGreaterThanOrEqual(15);
  });
});

describe('INFO deltas', () => {
  const info = (run: string, total: number, evalsha: number, cpu: number) =>
    `# Server\r\nrun_id:${run}\r\n# Stats\r\ntotal_commands_processed:${total}\r\ntotal_reads_processed:${total / 2}\r\n# CPU\r\nused_cpu_sys:${cpu}\r\nused_cpu_user:0\r\n# Commandstats\r\ncmdstat_evalsha:calls=${evalsha},usec=1\r\n`;

  it('counts what happened between two snapshots', () => {
    expect(delta(parseSnapshot(info('a', 100, 10, 1)), parseSnapshot(info('a', 160, 30, 1.5)), ['evalsha'])).toEqual({ topLevel: 20, all: 60, reads: 30, cpuUs: 500_000 });
  });

  it('says n/a instead of a wrong figure after another client reset the stats or Redis restarted', () => {
    const reset = delta(parseSnapshot(info('a', 100, 10, 1)), parseSnapshot(info('a', 50, 5, 1.5)), ['evalsha']);
    expect([reset.topLevel, reset.all, reset.cpuUs]).toEqual([Number.NaN, Number.NaN, 500_000]);
    const restarted = delta(parseSnapshot(info('a', 100, 10, 1)), parseSnapshot(info('b', 500, 50, 0.1)), ['evalsha']);
    expect([restarted.topLevel, restarted.all, restarted.cpuUs]).toEqual([Number.NaN, Number.NaN, Number.NaN]);
  });
});

describe('memory and cleanup', () => {
  it('measures bytes per identifier and per log entry, with the encoding', async () => {
    const points = await measureMemory(
      redis,
      (entries) => multiZset({ id: 'm', label: 'm', prefix: `${run}:memory:${entries}`, url, spec: { limit: 1000, windowMs: 60_000 } }),
      [1, 16],
      2,
    );
    expect(points.map((p) => [p.entries, p.keys, p.encoding])).toEqual([
      [1, 1, 'listpack'],
      [16, 1, 'listpack'],
    ]);
    expect(slope(points, 1, 16)).toBeGreaterThan(0);
    expect(slope(points, 1, 128)).toBeUndefined();
  });

  it('removes only the keys under its prefix', async () => {
    await redis.set(`${run}:cleanup:a`, '1', 'PX', 60_000);
    await redis.set(`${run}:cleanup-b`, '1', 'PX', 60_000);
    expect(await removeKeys(redis, `${run}:cleanup:`)).toBe(1);
    expect(await redis.exists(`${run}:cleanup-b`)).toBe(1);
    await expect(removeKeys(redis, 'a*')).rejects.toThrow(/refusing/);
  });
});

describe('the chart', () => {
  it('writes an SVG with bars and lines, and no NaN even for missing points', () => {
    const svg = renderChart('t', 's', [
      { title: 'bars', unit: 'checks/s', bars: [{ label: 'a <b>', value: 10, highlight: true }, { label: 'c', value: Number.NaN }] },
      { title: 'lines', unit: 'checks/s', xLabel: 'x', series: [{ label: 'a', points: [[1, 5], [10, Number.NaN], [100, 7]] }] },
    ]);
    expect(svg).toMatch(/^<svg [^>]*>/);
    expect(svg).toContain('a &lt;b&gt;');
    expect(svg).toContain('<polyline');
    expect(svg).not.toContain('NaN');
  });
});
