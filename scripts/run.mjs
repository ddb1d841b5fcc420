#!/usr/bin/env node
// The README's commands. Gets a supported Node.js when this one is older, gets pnpm, installs,
// provides what the step needs.
//   node scripts/run.mjs start   apps on the embedded default (memory store), or REDIS_URL
//   node scripts/run.mjs test    every test, against real Redis servers; the engine's suite again
//                                on the oldest and the newest maintained LTS line the run missed
//   node scripts/run.mjs bench   benchmarks against the local Redis
//   node scripts/run.mjs soak    a steady load for a while: errors, latency, memory over time
//   node scripts/run.mjs faults  every fault against servers it starts; writes docs/reliability.md
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

import { INSTALL_HINT, ensureRedis, has, startCluster } from '../tooling/vitest/redis.mjs';

const PNPM_VERSION = '12.21.0';
/** The maintained Node.js LTS lines, oldest and newest (22, 24 and 26 on 2026-12-01). */
const OLDEST_LTS = 22;
const NEWEST_LTS = 26;
/**
 * The oldest release of each line the tools run on (tsdown 0.23: ^22.18 || ^24.11 || >=26; vitest 5
 * asks less); the odd lines are past their end of life. Keep in step with `engines` in package.json.
 */
const MINIMUM_MINOR = { 22: 18, 24: 11 };
const ENGINES = '^22.18.0 || ^24.11.0 || >=26.0.0';
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

const major = (version) => Number(version.replace(/^v/, '').split('.')[0]);

function supported(version) {
  const [maj, min] = version.replace(/^v/, '').split('.').map(Number);
  return maj >= NEWEST_LTS || (maj in MINIMUM_MINOR && min >= MINIMUM_MINOR[maj]);
}

/** Node.js of this major line from the npm registry (the `node` package, through npx, cached by npm). */
function nodeFromRegistry(line) {
  const probe = spawnSync('npx', ['--yes', '--package', `node@${line}`, 'node', '--print', 'process.version + " " + process.execPath'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [version, execPath] = (probe.status === 0 ? probe.stdout.trim() : '').split(' ');
  if (!execPath || major(version) !== line) {
    fail(`Could not get Node.js ${line} from the npm registry (npx --package node@${line}): install Node.js ${ENGINES} and run this again.`);
  }
  return { version, execPath };
}

/** The environment with this Node.js first in PATH, so pnpm, turbo and every task they start use it. */
function envWith(node, base = env) {
  const bin = path.dirname(node.execPath);
  const extra = { PATH: `${bin}${path.delimiter}${base.PATH ?? ''}` };
  // npm passes its own Node to scripts in these; tools that read them must get this one
  for (const name of ['NODE', 'npm_node_execpath']) if (base[name] !== undefined) extra[name] = node.execPath;
  return { ...base, ...extra };
}

// A Node.js the tools do not run on: run this same command under the newest LTS line, args, env and exit code
// passed through (`npm start` / `npm test` still work on a machine that has only an older Node.js)
if (!supported(process.versions.node)) {
  console.log(
    `Node.js ${process.version} is not one this repository runs on (${ENGINES}): running \`${['node scripts/run.mjs', ...process.argv.slice(2)].join(' ')}\` under Node.js ${NEWEST_LTS} from the npm registry (npx --package node@${NEWEST_LTS}).`,
  );
  const node = nodeFromRegistry(NEWEST_LTS);
  const child = spawnSync(node.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env: envWith(node, process.env) });
  if (child.error) fail(`Node.js ${node.version} could not start: ${child.error.message}`);
  if (child.signal) process.kill(process.pid, child.signal);
  process.exit(child.status ?? 1);
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
      console.log(`Node.js ${process.version}; Redis: ${redis.url}; cluster: ${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(', ')}`);
      const servers = { REDIS_URL: redis.url, REDIS_CLUSTER_NODES: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',') };
      let status = run(pnpmCmd, [...pnpmPre, 'turbo', 'run', 'lint', 'typecheck', 'test', '--continue', ...passthrough], servers);
      // the published engine promises the oldest maintained LTS line and is run on the newest:
      // its suite (tests only, the run above linted and type-checked it) on whichever this run was not
      const others = passthrough.length > 0 ? [] : [OLDEST_LTS, NEWEST_LTS].filter((line) => line !== major(process.version));
      for (const line of others) {
        const node = nodeFromRegistry(line);
        console.log(`\nThe engine's suite (packages/ratelimit) on Node.js ${node.version}, the ${line === OLDEST_LTS ? 'oldest' : 'newest'} maintained LTS line:`);
        const engine = run(pnpmCmd, [...pnpmPre, '--filter', '@airl/ratelimit', 'test'], { ...envWith(node), ...servers });
        status ||= engine;
      }
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
