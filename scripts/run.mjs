#!/usr/bin/env node
// The README's commands. Needs only Node 20+: gets pnpm, installs, provides what the step needs.
//   node scripts/run.mjs start   apps on the embedded default (memory store), or REDIS_URL
//   node scripts/run.mjs test    every test, against real Redis servers
//   node scripts/run.mjs bench   benchmarks against the local Redis
//   node scripts/run.mjs soak    a steady load for a while: errors, latency, memory over time
//   node scripts/run.mjs faults  every fault against servers it starts; writes docs/reliability.md
import { spawnSync } from 'node:child_process';
import process from 'node:process';

import { INSTALL_HINT, ensureRedis, has, startCluster } from '../tooling/vitest/redis.mjs';

const PNPM_VERSION = '12.21.0';
const task = process.argv[2];
const passthrough = process.argv.slice(3);

const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  NEXT_TELEMETRY_DISABLED: '1',
  DO_NOT_TRACK: '1',
};

function fail(message) {
  console.error(`\n✖ ${message}\n`);
  process.exit(1);
}

function run(cmd, args, extraEnv = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', env: { ...env, ...extraEnv } });
  if (result.error) fail(`${cmd} could not start: ${result.error.message}`);
  return result.status ?? 1;
}

function pnpm() {
  const probe = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0 && probe.stdout.trim().startsWith('12.')) return ['pnpm', []];
  return ['npx', ['--yes', `pnpm@${PNPM_VERSION}`]];
}

const [pnpmCmd, pnpmPre] = pnpm();
const pn = (...args) => run(pnpmCmd, [...pnpmPre, ...args]);

function install() {
  if (pn('install', ...(process.env.CI ? ['--frozen-lockfile'] : [])) !== 0) fail('pnpm install failed (see above).');
}

/** As root on Debian, installs a missing system package; otherwise says how. */
function ensureSystemPackage(binary, pkg, hint) {
  if (has(binary)) return;
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.log(`${binary} is missing: installing Debian package ${pkg}`);
    run('apt-get', ['update', '-qq']);
    if (run('apt-get', ['install', '-y', '-qq', pkg], { DEBIAN_FRONTEND: 'noninteractive' }) === 0 && has(binary)) return;
  }
  fail(hint);
}

async function main() {
  switch (task) {
    case 'start': {
      install();
      process.exit(pn('turbo', 'run', 'start', ...passthrough));
    }
    case 'test': {
      ensureSystemPackage('redis-server', 'redis-server', INSTALL_HINT);
      ensureSystemPackage(
        'chromium',
        'chromium',
        'Chromium was not found; the browser tests need it. Debian/Ubuntu: sudo apt-get install -y chromium',
      );
      install();
      let redis;
      let cluster;
      try {
        redis = await ensureRedis();
        cluster = await startCluster({ masters: 3 });
      } catch (error) {
        await cluster?.stop();
        await redis?.stop();
        fail(error instanceof Error ? error.message : String(error));
      }
      console.log(`Redis: ${redis.url}; cluster: ${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(', ')}`);
      const status = run(pnpmCmd, [...pnpmPre, 'turbo', 'run', 'lint', 'typecheck', 'test', '--continue', ...passthrough], {
        REDIS_URL: redis.url,
        REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(','),
      });
      await cluster.stop();
      await redis.stop();
      process.exit(status);
    }
    case 'bench':
    case 'soak': {
      install();
      const redis = await ensureRedis().catch((error) => fail(error.message));
      const status = run(pnpmCmd, [...pnpmPre, '--filter', '@airl/ratelimit', task, ...passthrough], { REDIS_URL: redis.url });
      await redis.stop();
      process.exit(status);
    }
    case 'faults': {
      // starts every server it needs on free loopback ports: no Redis to provide
      ensureSystemPackage('redis-server', 'redis-server', INSTALL_HINT);
      install();
      process.exit(pn('--filter', '@airl/ratelimit', 'faults', ...passthrough));
    }
    default:
      fail('usage: node scripts/run.mjs start|test|bench|soak|faults');
  }
}

await main();
