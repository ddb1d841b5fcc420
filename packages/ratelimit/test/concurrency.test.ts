// Exactness under real concurrency: 4 processes x 250 concurrent calls on one identifier with a
// limit of 100 give exactly 100 allowed, on a single node and on the cluster.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, inject, it } from 'vitest';

import { createRateLimiter } from '../src/index';
import { createRedisStore } from '../src/redis';
import { CONCURRENCY_PLANS } from './fixtures/plans';
import { client, prefix as makePrefix } from './fixtures/stores';

const run = promisify(execFile);
const hammer = fileURLToPath(new URL('./fixtures/hammer.ts', import.meta.url));

describe.each(['redis', 'cluster'] as const)('%s', (target) => {
  it('4 processes x 250 concurrent calls, limit 100: exactly 100 allowed, and all charged together', async () => {
    const prefix = makePrefix();
    const env = {
      ...process.env,
      TARGET: target,
      PREFIX: prefix,
      ID: 'creator-42',
      CALLS: '250',
      PROCESSES: '4',
      REDIS_URL: inject('redisUrl'),
      CLUSTER_NODES: inject('clusterNodes')
        .map((n) => `${n.host}:${n.port}`)
        .join(','),
    };
    const outputs = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, ['--import', 'tsx', hammer], { env })));
    const reports = outputs.map((o) => JSON.parse(o.stdout) as { allowed: number; calls: number; start: number; end: number });
    expect(reports.reduce((sum, r) => sum + r.calls, 0)).toBe(1000);
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(100);
    // the processes were in flight at the same time: every one started before any had finished
    expect(Math.max(...reports.map((r) => r.start))).toBeLessThanOrEqual(Math.min(...reports.map((r) => r.end)));
    const limiter = createRateLimiter({ plans: CONCURRENCY_PLANS, store: createRedisStore({ client: client(target), prefix }) });
    const status = await limiter.peek('creator-42', { plan: 'p' });
    expect(status.limits.map((l) => l.remaining)).toEqual([0, 1_000_000 - 700]);
  });
});
