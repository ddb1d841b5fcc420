// The creator directory when Redis fails: a stopped server (refused) and one that accepts and never
// answers (hung). Reads answer within their bound from the last known plan or the degraded plan,
// never with an error; writes fail with a typed error; readiness says what is wrong.
import net from 'node:net';

import { afterAll, describe, expect, it } from 'vitest';

import { freePorts, startServer } from '@airl/vitest-config/redis';

import { CreatorDirectoryError } from '../src/index';
import { createLimiters, limitersConfigFromEnv } from '../src/limiters';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const timed = async <T>(work: () => Promise<T>) => {
  const started = Date.now();
  const value = await work();
  return { value, ms: Date.now() - started };
};

describe('the creator directory with Redis stopped', () => {
  it('answers the last known plan, else the degraded plan, within its bound; then reads Redis again', { timeout: 60_000 }, async () => {
    const server = await startServer();
    cleanup.push(() => server.stop());
    const limiters = createLimiters({
      redis: { host: '127.0.0.1', port: server.port, tls: false, username: undefined, password: undefined, cluster: false },
      prefix: `test-degraded-${server.port}`,
      degradedPlan: 'pro',
    });
    cleanup.push(() => limiters.close());
    await limiters.directory.setPlan('creator-ava', 'business');
    expect(await limiters.directory.get('creator-ava')).toMatchObject({ plan: 'business', planSource: 'directory' });
    expect(await limiters.readiness()).toEqual({ ready: true });
    expect(limiters.redisState()).toBe('connected');

    await server.stop();
    // ava was read before: her last known plan; ben never was: the degraded plan
    const ava = await timed(() => limiters.directory.get('creator-ava'));
    expect(ava.value).toMatchObject({ plan: 'business', planSource: 'last-known' });
    expect(ava.ms).toBeLessThan(300 + 700);
    const ben = await timed(() => limiters.directory.get('creator-ben'));
    expect(ben.value).toMatchObject({ plan: 'pro', planSource: 'degraded-plan' });
    // skipped while the directory is known to fail: no wait at all
    expect(ben.ms).toBeLessThan(100);
    expect(limiters.directory.available()).toBe(false);
    expect(await limiters.directory.get('nobody')).toBeUndefined();
    await expect(limiters.directory.setPlan('creator-ben', 'starter')).rejects.toThrow(CreatorDirectoryError);
    await expect(limiters.directory.setPlan('creator-ben', 'starter')).rejects.toThrow(/creator directory \(Redis\) is unreachable: the plan was not changed$/);

    const readiness = await limiters.readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.problem).toMatch(/^Redis unreachable/);
    expect(limiters.redisState()).toBe('unreachable');

    // the same port again: Redis answers, the plan is read from it
    const again = await startServer({ port: server.port });
    cleanup.push(() => again.stop());
    await new Promise((r) => setTimeout(r, 2100));
    let ben2 = await limiters.directory.get('creator-ben');
    for (let i = 0; i < 50 && ben2?.planSource !== 'directory'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      ben2 = await limiters.directory.get('creator-ben');
    }
    // a fresh server: ben has no stored plan, so his own (starter)
    expect(ben2).toMatchObject({ plan: 'starter', planSource: 'directory' });
    expect(limiters.directory.available()).toBe(true);
  });

  it('answers within its bound from a server that accepts and never answers', { timeout: 30_000 }, async () => {
    const [port] = await freePorts(1);
    const sockets = new Set<net.Socket>();
    const hung = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => hung.listen(port, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => {
      for (const s of sockets) s.destroy();
      hung.close(r);
    }));
    const limiters = createLimiters({ redis: { host: '127.0.0.1', port: port!, tls: false, username: undefined, password: undefined, cluster: false }, prefix: 'test-hung' });
    cleanup.push(() => limiters.close());
    const first = await timed(() => limiters.directory.get('creator-chloe'));
    expect(first.value).toMatchObject({ plan: 'starter', planSource: 'degraded-plan' });
    // the directory's 300 ms, with a margin for a loaded machine
    expect(first.ms).toBeLessThan(300 + 700);
    const readiness = await timed(() => limiters.readiness(500));
    expect(readiness.value).toEqual({ ready: false, problem: 'Redis unreachable: no answer within 500 ms' });
    expect(readiness.ms).toBeLessThan(500 + 700);
  });
});

describe('CREATOR_DEGRADED_PLAN', () => {
  it('is read with the limiters, and must name a plan', () => {
    expect(limitersConfigFromEnv({ CREATOR_DEGRADED_PLAN: 'pro' })).toMatchObject({ degradedPlan: 'pro' });
    expect(limitersConfigFromEnv({}).degradedPlan).toBeUndefined();
    expect(() => limitersConfigFromEnv({ CREATOR_DEGRADED_PLAN: 'gold' })).toThrow("CREATOR_DEGRADED_PLAN='gold' must be one of starter, pro, business");
  });
});
