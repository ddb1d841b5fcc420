// The package as a user gets it: `pnpm pack`, then a fresh project outside the workspace (its own
// package.json, no monorepo settings) that installs the tarball and its peers from the npm
// registry, compiles the README's ```ts examples and a check with tsc (node16/nodenext and
// bundler resolution), and runs the README's tRPC server against memory and a real Redis.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { packageDir, packTarball } from '../scripts/pack';
import { prefix } from './fixtures/stores';

/**
 * The versions the workspace pins (pnpm catalog), so the consumer gets what the tests run; to try
 * the peer ranges' other ends, CONSUMER_VERSIONS overrides some, for example
 * `CONSUMER_VERSIONS=@trpc/server=11.4.0,@trpc/client=11.4.0,ioredis=5.9.2`.
 */
function catalogVersion(name: string): string {
  const override = process.env.CONSUMER_VERSIONS?.split(',').find((e) => e.startsWith(`${name}=`));
  if (override) return override.slice(name.length + 1);
  const yaml = readFileSync(path.join(packageDir, '../../pnpm-workspace.yaml'), 'utf8');
  const line = yaml.split('\n').find((l) => l.trim().replace(/'/g, '').startsWith(`${name}:`));
  if (!line) throw new Error(`${name} is not in the pnpm catalog`);
  return line.split(':').slice(1).join(':').trim();
}

/** The README's ```ts blocks; a block whose first line is `// name.ts` is written under that name. */
export function readmeExamples(markdown: string): { file: string; code: string }[] {
  const blocks = [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks.map((code, i) => ({ file: /^\/\/ ([\w-]+\.ts)\n/.exec(code)?.[1] ?? `example-${i + 1}.ts`, code }));
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, out: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

let project: string;
let tarballDir: string;

beforeAll(() => {
  const tarball = packTarball();
  tarballDir = path.dirname(tarball);
  project = mkdtempSync(path.join(tmpdir(), 'airl-consumer-'));
  const dependencies = {
    '@airl/ratelimit': `file:${tarball}`,
    '@trpc/server': catalogVersion('@trpc/server'),
    '@trpc/client': catalogVersion('@trpc/client'),
    ioredis: catalogVersion('ioredis'),
    // the optional peer behind glideStoreClient, whose README example is compiled too
    '@valkey/valkey-glide': catalogVersion('@valkey/valkey-glide'),
    // the optional peer of @airl/ratelimit/lambda, whose README example is compiled too
    '@aws-sdk/client-lambda': catalogVersion('@aws-sdk/client-lambda'),
    zod: catalogVersion('zod'),
    typescript: catalogVersion('typescript'),
    '@types/node': catalogVersion('@types/node'),
  };
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2));
  const common = { target: 'ES2022', lib: ['ES2023', 'DOM'], strict: true, skipLibCheck: true, types: ['node'], moduleDetection: 'force' };
  writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...common, module: 'NodeNext', moduleResolution: 'NodeNext', outDir: 'out' }, include: ['readme', 'check.ts'] }));
  writeFileSync(
    path.join(project, 'tsconfig.bundler.json'),
    JSON.stringify({ compilerOptions: { ...common, module: 'ESNext', moduleResolution: 'Bundler', noEmit: true }, include: ['readme', 'check.ts'] }),
  );
  mkdirSync(path.join(project, 'readme'));
  for (const { file, code } of readmeExamples(readFileSync(path.join(packageDir, 'README.md'), 'utf8'))) writeFileSync(path.join(project, 'readme', file), code);
  cpSync(path.join(packageDir, 'test/consumer/check.ts'), path.join(project, 'check.ts'));
  // the npm cache (~/.npm) makes repeated installs quick (about 30 s here); the tarball is always
  // the fresh one. On a machine whose cache is cold (a fresh CI runner), beside CI's other builds
  // on two cores, the registry is read: 60 s and then 200 s were seen too short
  const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], project, process.env, 480_000);
  if (install.status !== 0) throw new Error(`npm install in ${project} failed:\n${install.out}`);
}, 540_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
  if (tarballDir) rmSync(tarballDir, { recursive: true, force: true });
});

describe('the packed package in a fresh project', () => {
  it('ships the README examples the test compiles', () => {
    const files = readmeExamples(readFileSync(path.join(packageDir, 'README.md'), 'utf8')).map((e) => e.file);
    expect(files).toEqual(expect.arrayContaining(['server.ts', 'client.ts']));
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(['tsconfig.json', 'tsconfig.bundler.json'])('type-checks the README examples and the check (%s)', (config) => {
    const tsc = run('node', ['node_modules/typescript/bin/tsc', '-p', config], project);
    expect(tsc.out).toBe('');
    expect(tsc.status).toBe(0);
  });

  function check(env: NodeJS.ProcessEnv) {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REDIS_|ELASTICACHE_|RATE_LIMIT_)/.test(k)));
    const r = run('node', ['out/check.js'], project, { ...clean, ...env });
    expect(r.status, r.out).toBe(0);
    return JSON.parse(r.out.trim().split('\n').at(-1)!) as {
      store: string;
      calls: { ok: boolean; code?: string; httpStatus?: number; message?: string; rateLimit?: { group: string; deniedBy: string; retryAfterMs: number; reason: string; retryable: boolean } | null }[];
      statuses: number[];
      headers: Record<string, string>[];
      tokensRemaining: number;
    };
  }

  function expectReadmeBehaviour(seen: ReturnType<typeof check>) {
    // free plan: 3 per hour; the 4th call is denied, typed data on the client, 429 with headers
    expect(seen.calls.map((c) => c.ok)).toEqual([true, true, true, false]);
    expect(seen.statuses).toEqual([200, 200, 200, 429]);
    const denied = seen.calls[3]!;
    expect(denied).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 });
    expect(denied.message).toMatch(/^You have used your hourly AI allowance: try again in \d+ minutes?\.$/);
    expect(denied.rateLimit).toMatchObject({ group: 'ai', deniedBy: 'hourly', reason: 'RATE_LIMITED', retryable: true });
    expect(denied.rateLimit!.retryAfterMs).toBeGreaterThan(3_500_000);
    expect(denied.rateLimit!.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    expect(seen.headers[0]).toMatchObject({
      'ratelimit-policy': '"ai:hourly";q=3;w=3600, "ai:tokens";q=5000;w=86400;qu="airl-tokens"',
      'x-ratelimit-remaining': '2',
    });
    expect(seen.headers[3]!['retry-after']).toMatch(/^\d+$/);
    // reserved 1,000 tokens per call, settled with the 120 the procedure reported
    expect(seen.tokensRemaining).toBe(5_000 - 3 * 120);
  }

  it('runs the README server in memory when no Redis is configured', () => {
    const seen = check({ CONSUMER_USER: 'memory-user' });
    expect(seen.store).toBe('memory');
    expectReadmeBehaviour(seen);
  });

  it('runs the README server on a real Redis from REDIS_URL', async () => {
    const keyPrefix = prefix();
    const redisUrl = inject('redisUrl');
    const seen = check({ REDIS_URL: redisUrl, RATE_LIMIT_PREFIX: keyPrefix, CONSUMER_USER: 'redis-user' });
    expect(seen.store).toBe('redis');
    expectReadmeBehaviour(seen);
    // the state is in Redis, under the prefix the example was given
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      expect(await redis.keys(`${keyPrefix}:{redis-user}*`)).not.toHaveLength(0);
    } finally {
      await redis.quit();
    }
  });
});
