// The doctor against real servers: the local Redis, a 3-master cluster, servers started here with
// chosen memory settings, and a TLS server with a throwaway CA.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { freePorts, type Server, startServer, startTlsServer, type TlsServer } from '@airl/vitest-config/redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { type DoctorReport, doctorMain, percentile, redact, runDoctor } from '../src/doctor';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../..');
const check = (report: DoctorReport, id: string) => report.checks.filter((c) => c.id === id);
const levels = (report: DoctorReport) => Object.fromEntries(report.checks.map((c) => [c.id, c.level]));
const fails = (report: DoctorReport) => report.checks.filter((c) => c.level === 'fail');

async function cli(argv: string[], env: Record<string, string | undefined>) {
  let out = '';
  const code = await doctorMain(argv, env, (text) => (out += text));
  return { code, out };
}

describe('the local Redis', () => {
  const url = inject('redisUrl');

  it('connects, times every operation, loads the scripts and leaves no key behind', async () => {
    const keyPrefix = `doctor-test-${randomBytes(4).toString('hex')}`;
    const report = await runDoctor({ env: { REDIS_URL: url }, iterations: 20, keyPrefix });
    expect(fails(report)).toEqual([]);
    expect(levels(report)).toMatchObject({ config: 'ok', connect: 'ok', 'server-version': 'ok', 'cluster-mode': 'ok', roundtrip: 'ok', scripts: 'ok' });
    expect(report.server?.mode).toBe('standalone');
    expect(report.server?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.scripts).toMatchObject({ loaded: true, via: 'functions' });
    for (const op of ['ping', 'set', 'get', 'del'] as const) {
      const stats = report.latency!.operations[op];
      expect(stats.count).toBe(20);
      expect(stats.p50).toBeGreaterThan(0);
      expect(stats.p99).toBeGreaterThanOrEqual(stats.p50);
      expect(stats.max).toBeGreaterThanOrEqual(stats.p99);
    }
    const redis = new Redis(url);
    try {
      const [, keys] = await redis.scan(0, 'MATCH', `${keyPrefix}*`, 'COUNT', 100_000);
      expect(keys).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });

  it('warns when an operation misses the latency goal', async () => {
    const report = await runDoctor({ env: { REDIS_URL: url }, iterations: 3, goalMs: 0.000_001 });
    expect(check(report, 'latency')[0]).toMatchObject({ level: 'warn', message: expect.stringContaining('p99 over the 0.000001 ms goal') });
  });
});

describe('memory settings', () => {
  let server: Server;
  let redis: Redis;
  beforeAll(async () => {
    server = await startServer({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction'] });
    redis = new Redis({ port: server.port, host: server.host });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });
  const env = () => ({ REDIS_HOST: server.host, REDIS_PORT: String(server.port) });

  it('is all ok with noeviction and room to spare, so --strict exits 0', async () => {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    // a generous latency goal: this is about memory, and a loaded CI box can miss 10 ms on loopback
    const report = await runDoctor({ env: env(), iterations: 5, goalMs: 1000 });
    expect(report.checks.filter((c) => c.level !== 'ok')).toEqual([]);
    expect(report.status).toBe('ok');
    expect((await cli(['--strict', '--iterations', '5', '--goal-ms', '1000'], env())).code).toBe(0);
  });

  it.each(['allkeys-lru', 'volatile-lru', 'volatile-ttl'])('warns that %s can evict limiter keys: exit 1 with --strict, 0 without', async (policy) => {
    await redis.config('SET', 'maxmemory-policy', policy);
    try {
      const report = await runDoctor({ env: env(), iterations: 5 });
      expect(check(report, 'eviction-policy')[0]).toMatchObject({ level: 'warn', message: expect.stringContaining(policy) });
      expect(report.status).toBe('warn');
      expect((await cli(['--strict', '--iterations', '5', '--goal-ms', '1000'], env())).code).toBe(1);
      expect((await cli(['--iterations', '5'], env())).code).toBe(0);
    } finally {
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('warns when memory is near full', async () => {
    await redis.config('SET', 'maxmemory', String(4 * 1024 * 1024));
    const used = async () => {
      const info = await redis.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)![1]) / (4 * 1024 * 1024);
    };
    const chunk = 'x'.repeat(32 * 1024);
    for (let i = 0; (await used()) < 0.86; i++) await redis.set(`fill:${i}`, chunk);
    const report = await runDoctor({ env: env(), iterations: 3 });
    expect(check(report, 'memory')[0]).toMatchObject({ level: 'warn', message: expect.stringContaining('near full') });
    expect(report.server?.nodes[0]).toMatchObject({ maxmemory: 4 * 1024 * 1024, maxmemoryPolicy: 'noeviction' });
    // the probes themselves still went through
    expect(levels(report)).toMatchObject({ roundtrip: 'ok', scripts: 'ok' });
    await redis.flushall();
  });

  it('warns when maxmemory is not set', async () => {
    await redis.config('SET', 'maxmemory', '0');
    const report = await runDoctor({ env: env(), iterations: 3 });
    expect(check(report, 'memory')[0]).toMatchObject({ level: 'warn', message: expect.stringContaining('maxmemory is 0') });
    await redis.config('SET', 'maxmemory', '64mb');
  });
});

describe('the local cluster', () => {
  const nodes = inject('clusterNodes');
  const seed = () => nodes[0]!;

  it('reports every master and runs the scripts through the cluster client', async () => {
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    const report = await runDoctor({ env: { REDIS_HOST: seed().host, REDIS_PORT: String(seed().port), REDIS_CLUSTER: 'true' }, iterations: 10 });
    expect(fails(report)).toEqual([]);
    expect(report.server?.mode).toBe('cluster');
    expect(report.server?.nodes).toHaveLength(3);
    expect(check(report, 'cluster-mode')[0]).toMatchObject({ level: 'ok', message: 'cluster of 3 masters' });
    expect(report.scripts?.loaded).toBe(true);
  });

  it('fails, exit 2, when the app is not configured for the cluster it talks to', async () => {
    const env = { REDIS_HOST: seed().host, REDIS_PORT: String(seed().port) };
    const report = await runDoctor({ env, iterations: 3 });
    expect(check(report, 'cluster-mode')[0]).toMatchObject({ level: 'fail', hint: expect.stringContaining('REDIS_CLUSTER=true') });
    expect((await cli(['--iterations', '3'], env)).code).toBe(2);
  });

  it('fails when REDIS_CLUSTER is set for a single server, and says so instead of blaming the network', async () => {
    const report = await runDoctor({ env: { REDIS_URL: inject('redisUrl'), REDIS_CLUSTER: 'true' }, iterations: 3 });
    expect(report.status).toBe('fail');
    expect(check(report, 'cluster-mode')[0]).toMatchObject({ level: 'fail', hint: expect.stringContaining('unset REDIS_CLUSTER') });
    expect(JSON.stringify(report)).not.toMatch(/security group|TIME in scripts/);
  });
});

describe('TLS', () => {
  const password = `pw-${randomBytes(12).toString('hex')}`;
  let tls: TlsServer;
  beforeAll(async () => {
    tls = await startTlsServer({ password, args: ['--maxmemory', '64mb'] });
  });
  afterAll(() => tls.stop());

  it('connects over TLS with the CA from REDIS_TLS_CA_FILE, and never prints the password', async () => {
    const env = { REDIS_URL: `rediss://:${password}@127.0.0.1:${tls.port}`, REDIS_TLS_CA_FILE: tls.caFile };
    const report = await runDoctor({ env, iterations: 10 });
    expect(fails(report)).toEqual([]);
    expect(report.tls).toEqual({ enabled: true, protocol: expect.stringMatching(/^TLSv1\.[23]$/) });
    expect(check(report, 'tls')[0]?.level).toBe('ok');
    expect(report.target).toMatchObject({ tls: true, password: '***', caFile: tls.caFile });
    expect(report.scripts?.loaded).toBe(true);
    for (const argv of [['--json'], []]) {
      const { code, out } = await cli([...argv, '--iterations', '5'], env);
      expect(code).toBe(0);
      expect(out).not.toContain(password);
      expect(out).toContain('***');
    }
  });

  it('works the ElastiCache way: host, REDIS_TLS and REDIS_AUTH_TOKEN', async () => {
    const report = await runDoctor({
      env: { ELASTICACHE_REDIS_HOST: '127.0.0.1', ELASTICACHE_REDIS_PORT: String(tls.port), REDIS_TLS: 'true', REDIS_AUTH_TOKEN: password, REDIS_TLS_CA_FILE: tls.caFile },
      iterations: 5,
    });
    expect(fails(report)).toEqual([]);
    expect(report.tls?.enabled).toBe(true);
  });

  it('fails with a pointer to REDIS_TLS_CA_FILE when the certificate is not trusted', async () => {
    const report = await runDoctor({ env: { REDIS_URL: `rediss://:${password}@127.0.0.1:${tls.port}` }, iterations: 3 });
    expect(check(report, 'connect')[0]).toMatchObject({ level: 'fail', hint: expect.stringContaining('REDIS_TLS_CA_FILE') });
  });

  it('fails with a pointer to TLS when the client speaks plain text to a TLS port', async () => {
    const report = await runDoctor({ env: { REDIS_URL: `redis://:${password}@127.0.0.1:${tls.port}` }, iterations: 3, connectTimeoutMs: 2000 });
    expect(check(report, 'connect')[0]).toMatchObject({ level: 'fail', hint: expect.stringMatching(/TLS/) });
  });

  it('fails on a wrong password without printing it', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const env = { REDIS_URL: `rediss://127.0.0.1:${tls.port}`, REDIS_AUTH_TOKEN: wrong, REDIS_TLS_CA_FILE: tls.caFile };
    const report = await runDoctor({ env, iterations: 3 });
    expect(check(report, 'connect')[0]).toMatchObject({ level: 'fail', hint: expect.stringContaining('REDIS_AUTH_TOKEN') });
    for (const argv of [['--json'], []]) {
      const { code, out } = await cli(argv, env);
      expect(code).toBe(2);
      expect(out).not.toContain(wrong);
    }
  });
});

describe('failures before any server answers', () => {
  it('fails fast, exit 2, when nothing listens', async () => {
    const [port] = await freePorts(1);
    const started = performance.now();
    const { code, out } = await cli(['--json'], { REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(code).toBe(2);
    const report = JSON.parse(out) as DoctorReport & { exitCode: number };
    expect(report.exitCode).toBe(2);
    expect(check(report, 'connect')[0]).toMatchObject({ level: 'fail', hint: expect.stringContaining('nothing listens') });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('fails, exit 2, when no Redis is configured or the configuration is wrong', async () => {
    expect((await cli([], {})).out).toContain('no Redis is configured');
    expect((await cli([], {})).code).toBe(2);
    const bad = await runDoctor({ env: { REDIS_URL: 'http://example' } });
    expect(check(bad, 'config')[0]).toMatchObject({ level: 'fail', message: expect.stringContaining('redis://') });
    const missingCa = await runDoctor({ env: { REDIS_URL: 'rediss://127.0.0.1:1', REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' } });
    expect(check(missingCa, 'config')).toContainEqual(expect.objectContaining({ level: 'fail', message: expect.stringContaining('REDIS_TLS_CA_FILE') }));
    expect(missingCa.status).toBe('fail');
  });

  it('rejects bad arguments with the usage, exit 2', async () => {
    for (const argv of [['--nope'], ['--iterations', '0'], ['--goal-ms', 'x']]) {
      const { code, out } = await cli(argv, {});
      expect(code).toBe(2);
      expect(out).toContain('usage: airl-doctor');
    }
    expect(await cli(['--help'], {})).toEqual({ code: 0, out: expect.stringContaining('exit codes') });
  });
});

describe('the installed program', () => {
  it('runs from bin/ with node and exits with the report status', { timeout: 90_000 }, () => {
    const result = spawnSync(process.execPath, [path.join(here, '../bin/airl-doctor.js'), '--json', '--iterations', '3'], {
      env: { PATH: process.env.PATH, REDIS_URL: inject('redisUrl') },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as DoctorReport & { exitCode: number };
    expect(result.status).toBe(report.exitCode);
    expect(report.checks.find((c) => c.id === 'scripts')?.level).toBe('ok');
  });
});

describe('helpers', () => {
  it('percentile is nearest-rank: always a measured value', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });

  it('redact masks the secret and its URL-encoded form everywhere', () => {
    const secret = 'p@ss/word';
    const value = { a: `x ${secret} y`, b: [`${encodeURIComponent(secret)}`], c: 3, d: undefined };
    expect(redact(value, secret)).toEqual({ a: 'x *** y', b: ['***'], c: 3, d: undefined });
    expect(redact(value, undefined)).toBe(value);
  });
});

// The command the docs give a deploy step, spawned exactly as written, from the repository root:
// `node packages/ops/bin/airl-doctor.js ...`. Its exit code is the report's, and it always exits.
describe('the documented command', () => {
  const COMMAND = 'node packages/ops/bin/airl-doctor.js';
  /** Runs the documented command; a hang shows as a kill at 90 s (status null), never as a pass. */
  function documented(args: string[], env: Record<string, string>) {
    const started = performance.now();
    const [bin, ...rest] = COMMAND.split(' ');
    const r = spawnSync(bin!, [...rest, ...args], { cwd: root, env: { PATH: process.env.PATH!, ...env }, encoding: 'utf8', timeout: 90_000 });
    return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}`, seconds: (performance.now() - started) / 1000 };
  }

  it('is the command the docs give', async () => {
    const fs = await import('node:fs');
    for (const doc of ['docs/aws-deployment.md', 'docs/runbooks/incident-response.md', 'packages/ops/README.md']) {
      expect(fs.readFileSync(path.join(root, doc), 'utf8')).toContain(COMMAND);
    }
  });

  it('exits 2 on a cluster when REDIS_CLUSTER is unset (it used to print "exit 2" and hang), with the fix in the hint', { timeout: 120_000 }, () => {
    const seed = inject('clusterNodes')[0]!;
    const r = documented(['--iterations', '3'], { REDIS_HOST: seed.host, REDIS_PORT: String(seed.port) });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(2);
    expect(r.out).toContain('set REDIS_CLUSTER=true');
    // the run's own bound is 30 s; a loaded machine still finishes this one far below it
    expect(r.seconds).toBeLessThan(45);
  });

  it('exits 2 with REDIS_CLUSTER=true against a single server, naming the setting', { timeout: 120_000 }, () => {
    const r = documented(['--json', '--iterations', '3'], { REDIS_URL: inject('redisUrl'), REDIS_CLUSTER: 'true' });
    expect(r.status).toBe(2);
    const report = JSON.parse(r.out) as DoctorReport;
    expect(check(report, 'cluster-mode')[0]).toMatchObject({ level: 'fail', hint: expect.stringContaining('unset REDIS_CLUSTER') });
    expect(r.out).not.toMatch(/security group|TIME in scripts/);
  });

  it('exits 2 on a Redis out of memory (noeviction at maxmemory), with the memory hint, not a network one', { timeout: 120_000 }, async () => {
    const server = await startServer({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'noeviction'] });
    const redis = new Redis({ host: server.host, port: server.port });
    try {
      // 2.5 MB of data, then a maxmemory below it: the state of a cache whose data reached its limit
      // (filling up to the limit would leave a few KB free whenever a large write is refused)
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 40; i++) await redis.set(`fill:${i}`, chunk);
      await redis.config('SET', 'maxmemory', String(1024 * 1024));
      await expect(redis.set('small', 'ok')).rejects.toThrow(/^OOM/);
      const r = documented(['--json', '--iterations', '3'], { REDIS_HOST: server.host, REDIS_PORT: String(server.port) });
      expect(r.status).toBe(2);
      const report = JSON.parse(r.out) as DoctorReport;
      expect(check(report, 'roundtrip')[0]).toMatchObject({ level: 'fail', hint: expect.stringContaining('out of memory') });
      expect(check(report, 'memory')[0]).toMatchObject({ level: 'warn', message: expect.stringContaining('near full') });
      for (const c of fails(report)) expect(c.hint).toContain('out of memory');
      expect(r.out).not.toMatch(/security group|TIME in scripts|ACL/);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it('exits 2 at its deadline when a server accepts connections and never answers', { timeout: 120_000 }, async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const r = documented(['--json', '--deadline-ms', '2000'], { REDIS_URL: `redis://127.0.0.1:${port}` });
      expect(r.status).toBe(2);
      const report = JSON.parse(r.out) as DoctorReport;
      expect(check(report, 'deadline')[0]).toMatchObject({ level: 'fail', message: expect.stringContaining('2000 ms deadline') });
      // 2 s of waiting plus start-up (tsx compiles the sources), with room for a loaded machine
      expect(r.seconds).toBeGreaterThanOrEqual(2);
      expect(r.seconds).toBeLessThan(30);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('exits 1 on warnings with --strict and 0 without: its own codes, not pnpm\'s', { timeout: 120_000 }, () => {
    const env = { REDIS_URL: inject('redisUrl') };
    // an unreachable latency goal: a warning on any server
    expect(documented(['--strict', '--iterations', '3', '--goal-ms', '0.000001'], env).status).toBe(1);
    expect(documented(['--iterations', '3', '--goal-ms', '0.000001'], env).status).toBe(0);
  });
});
