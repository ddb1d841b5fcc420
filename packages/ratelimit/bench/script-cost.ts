// `pnpm --filter @airl/ratelimit exec tsx bench/script-cost.ts`: what the check script itself costs Redis, apart
// from the network and the client. Starts a private redis-server (so no other client's work is
// counted), runs the check N times inside one EVAL (KEYS and ARGV as the store sends them, time
// passed in and advancing 1 ms per check), and reports Redis main-thread CPU per check in the
// steady state: every sliding log at its working size, trimming one expired entry per check.
// Beside it, "calls only": a script making the same redis.call()s with no logic, the floor for
// that algorithm's work; then a log of 100 to 1,000 entries kept as a listpack or as a skiplist
// (what raising zset-max-listpack-entries costs in CPU). Figures are CPU time, so load from other work disturbs them less than
// throughput; the minimum of the rounds is the least disturbed.
//
//   SCRIPT_COST_FILE=path/to/scripts.generated.ts   measure another build of the scripts (a prototype)
import { Redis } from 'ioredis';

import * as repo from '../src/lua/scripts.generated';
import { startPrivateRedis } from './private-redis';

const N = 20_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Identifiers in turn: each gets a check every `ids` ms; a 10 s window holds 10,000 / ids entries. */
const IDS = 100;

interface Case {
  readonly name: string;
  /** ARGV after now and mode, as the store sends them (state TTL, reservation TTL, n, specs and costs). */
  readonly argv: readonly string[];
  readonly callsOnly: string;
}

const CASES: readonly Case[] = [
  {
    name: 'sliding log (1 limit, ~100 entries, trims each check)',
    argv: ['10000', '600000', '1', 'log|1|100000|10000', '1'],
    callsOnly: `
      local key, now = KEYS[2], tonumber(ARGV[1])
      local head = redis.call('ZRANGE', key, 0, 1, 'WITHSCORES')
      if tonumber(head[2]) and tonumber(head[2]) <= now - 10000 then redis.call('ZREMRANGEBYSCORE', key, 0, now - 10000) end
      local count = redis.call('ZCARD', key)
      redis.call('ZADD', key, 'NX', now, string.format('%.0f', now * 1000 + count % 1000))
      redis.call('PEXPIRE', key, 10000)
      return {1}`,
  },
  {
    name: 'sliding-window counter (1 limit)',
    argv: ['10000', '600000', '1', 'window|2|100000|10000', '1'],
    callsOnly: `
      local v = redis.call('HMGET', KEYS[1], 'window.i', 'window.c', 'window.p')
      redis.call('HSET', KEYS[1], 'window.i', 1, 'window.c', (tonumber(v[2]) or 0) + 1, 'window.p', 0)
      redis.call('PEXPIRE', KEYS[1], 10000)
      return {1}`,
  },
  {
    name: 'three-limit plan (log per minute, 2 counters)',
    argv: ['86400000', '600000', '3', 'per-minute|1|100000|60000', '1', 'per-hour|2|1000000|3600000', '1', 'tokens|2|50000000|86400000', '250'],
    callsOnly: `
      local key, now = KEYS[2], tonumber(ARGV[1])
      local v = redis.call('HMGET', KEYS[1], 'per-hour.i', 'per-hour.c', 'per-hour.p', 'tokens.i', 'tokens.c', 'tokens.p')
      local head = redis.call('ZRANGE', key, 0, 1, 'WITHSCORES')
      if tonumber(head[2]) and tonumber(head[2]) <= now - 60000 then redis.call('ZREMRANGEBYSCORE', key, 0, now - 60000) end
      local count = redis.call('ZCARD', key)
      redis.call('ZADD', key, 'NX', now, string.format('%.0f', now * 1000 + count % 1000))
      redis.call('PEXPIRE', key, 60000)
      redis.call('HSET', KEYS[1], 'per-hour.i', 1, 'per-hour.c', (tonumber(v[2]) or 0) + 1, 'per-hour.p', 0, 'tokens.i', 1, 'tokens.c', (tonumber(v[5]) or 0) + 250, 'tokens.p', 0)
      redis.call('PEXPIRE', KEYS[1], 86400000)
      return {1}`,
  },
];

/** The script run N times in one EVAL, KEYS and ARGV shadowed per check; returns the allowed count. */
function loop(script: string, argv: readonly string[], ids = IDS): string {
  const tail = argv.map((a) => `'${a}'`).join(', ');
  return `
local base = tonumber(ARGV[1])
local allowed = 0
for it = 1, ${N} do
  local id = it % ${ids}
  local KEYS = { 'c:{' .. id .. '}', 'c:{' .. id .. '}:l:' .. (${argv.length > 5 ? "'per-minute'" : "'log'"}) }
  local ARGV = { tostring(base + it), '1', ${tail} }
  local function check()
${script}
  end
  if check()[1] == 1 then allowed = allowed + 1 end
end
return allowed`;
}

async function main() {
  const check = process.env.SCRIPT_COST_FILE ? ((await import(process.env.SCRIPT_COST_FILE)) as typeof repo).check : repo.check;
  // one EVAL runs 20,000 checks: let it run past the 5 s busy-script threshold
  const server = await startPrivateRedis(['--busy-reply-threshold', '60000']);
  const redis = new Redis(server.url);
  try {
    const cpu = async () => {
      const info = await redis.info('cpu');
      const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1]);
      return get('used_cpu_user_main_thread') + get('used_cpu_sys_main_thread');
    };
    const measure = async (script: string, argv: readonly string[], ids = IDS) => {
      await redis.flushall();
      const body = loop(script, argv, ids);
      let base = 1_000_000;
      // two windows of warm-up (60 s for the per-minute log): logs reach their working size
      for (let t = 0; t < (argv.length > 5 ? 120_000 : 20_000); t += N, base += N) await redis.eval(body, 0, base);
      const c0 = await cpu();
      const allowed = Number(await redis.eval(body, 0, base));
      const c1 = await cpu();
      if (allowed !== N) throw new Error(`${allowed} of ${N} checks allowed: the case's limits are too small`);
      return ((c1 - c0) * 1e6) / N;
    };
    const min = (a: number[]) => Math.min(...a);
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    const out: string[] = ['| case | check script, µs/check (min / median) | calls only | script logic share |', '|---|---:|---:|---:|'];
    for (const c of CASES) {
      const full: number[] = [];
      const floor: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        full.push(await measure(check, c.argv));
        floor.push(await measure(c.callsOnly, c.argv));
      }
      out.push(
        `| ${c.name} | ${min(full).toFixed(1)} / ${med(full).toFixed(1)} | ${min(floor).toFixed(1)} / ${med(floor).toFixed(1)} | ${Math.round((1 - min(floor) / min(full)) * 100)}% |`,
      );
      process.stderr.write(`${c.name}: done\n`);
    }
    // big logs: the same check with the sorted set kept a listpack (zset-max-listpack-entries
    // raised past its size) or converted to a skiplist (the default 128)
    out.push('', '| sliding-log entries | listpack, µs/check (min / median) | skiplist | listpack / skiplist |', '|---:|---:|---:|---:|');
    const log = CASES[0]!.argv;
    for (const entries of [100, 250, 500, 1000]) {
      const by: Record<string, number[]> = { listpack: [], skiplist: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const [encoding, max] of [['listpack', 2048], ['skiplist', 64]] as const) {
          await redis.config('SET', 'zset-max-listpack-entries', String(max));
          by[encoding]!.push(await measure(check, log, Math.round(10_000 / entries)));
        }
      }
      out.push(
        `| ${entries} | ${min(by.listpack!).toFixed(1)} / ${med(by.listpack!).toFixed(1)} | ${min(by.skiplist!).toFixed(1)} / ${med(by.skiplist!).toFixed(1)} | ${(min(by.listpack!) / min(by.skiplist!)).toFixed(2)}x |`,
      );
      process.stderr.write(`log of ${entries} entries: done\n`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
    await server.stop();
  }
}

await main();
