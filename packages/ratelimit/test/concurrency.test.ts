// Exactness under real concurrency: 4 processes x 250 concurrent calls on one identifier with a
// limit of 100 give exactly 100 allowed, on a single node and on a cluster. Redis is paused
// while the processes send, so all 1,000 calls are waiting in Redis at once: concurrency by
// construction, not by timing. The servers are this test's own: pausing them stalls no one else.
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Server, startCluster, startServer } from '@airl/vitest-config/redis';

import { createRateLimiter } from '../src/index';
import { createRedisStore } from '../src/redis';
import { CONCURRENCY_PLANS } from './fixtures/plans';

let server: Server;
let cluster: Awaited<ReturnType<typeof startCluster>>;
beforeAll(async () => {
  [server, cluster] = await Promise.all([startServer(), startCluster({ masters: 3 })]);
});
afterAll(async () => {
  await Promise.all([server.stop(), cluster.stop()]);
});

const hammer = fileURLToPath(new URL('./fixtures/hammer.ts', import.meta.url));

type Message = { type: 'ready' | 'sent' } | { type: 'done'; allowed: number; calls: number; degraded: number };

function messages(child: ChildProcess) {
  const queue: Message[] = [];
  const waiters: ((m: Message) => void)[] = [];
  child.on('message', (m: Message) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  return (type: Message['type']) =>
    new Promise<Message>((resolve, reject) => {
      child.once('exit', (code) => code !== 0 && reject(new Error(`child exited with ${code}`)));
      const take = (m: Message) => (m.type === type ? resolve(m) : reject(new Error(`expected ${type}, got ${m.type}`)));
      const queued = queue.shift();
      if (queued) take(queued);
      else waiters.push(take);
    });
}

describe.each(['redis', 'cluster'] as const)('%s', (target) => {
  it('4 processes x 250 concurrent calls, limit 100: exactly 100 allowed, and all charged together', async () => {
    const prefix = 'concurrency';
    const url = `redis://127.0.0.1:${server.port}`;
    const env = {
      ...process.env,
      TARGET: target,
      PREFIX: prefix,
      ID: 'creator-42',
      CALLS: '250',
      REDIS_URL: url,
      CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','),
    };
    const children = Array.from({ length: 4 }, () => fork(hammer, { env, execArgv: ['--import', 'tsx'], stdio: 'inherit' }));
    const next = children.map(messages);
    await Promise.all(next.map((n) => n('ready')));

    // pause every node that could hold the identifier; admin connections are not paused
    const admins: Redis[] = target === 'redis' ? [new Redis(url)] : cluster.nodes.map((n) => new Redis(n.port, n.host));
    await Promise.all(admins.map((a) => a.call('CLIENT', 'PAUSE', '30000', 'WRITE')));
    try {
      for (const child of children) child.send('go');
      await Promise.all(next.map((n) => n('sent')));
    } finally {
      await Promise.all(admins.map((a) => a.call('CLIENT', 'UNPAUSE')));
      await Promise.all(admins.map((a) => a.quit()));
    }
    const reports = (await Promise.all(next.map((n) => n('done')))) as Extract<Message, { type: 'done' }>[];
    expect(reports.reduce((sum, r) => sum + r.calls, 0)).toBe(1000);
    expect(reports.reduce((sum, r) => sum + r.degraded, 0)).toBe(0);
    expect(reports.reduce((sum, r) => sum + r.allowed, 0)).toBe(100);

    const c = target === 'redis' ? new Redis(url) : new Cluster(cluster.nodes);
    const limiter = createRateLimiter({ plans: CONCURRENCY_PLANS, store: createRedisStore({ client: c, prefix }), logger: false });
    const status = await limiter.peek('creator-42', { plan: 'p' });
    expect(status.limits.map((l) => l.remaining)).toEqual([0, 1_000_000 - 700]);
    await limiter.close();
    await c.quit();
  });
});
