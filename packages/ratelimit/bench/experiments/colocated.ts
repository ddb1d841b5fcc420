// A design study (docs/benchmarks.md, "What would close it"): instructions per check of the
// three-limit plan as the library runs it, and with its windows and anomaly counters kept in the
// log's header (colocated.lua, spliced in place of logwin_check), in one callgrind run.
//
//   pnpm exec tsx bench/experiments/colocated.ts     (about 30 s; valgrind and redis-server)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import * as scripts from '../../src/lua/scripts.generated';
import { CASES, captureChecks, count, startCallgrind } from '../instructions';

const CALL = 'o = logwin_check(keys[k], keys[k + 1], plan, spike_cost, pending, counting, now, out, o)';
const BEFORE = '-- `single`: the `check` script';

function colocated(): string {
  const source = scripts.library.source;
  if (!source.includes(CALL) || !source.includes(BEFORE)) throw new Error('check.lua has changed: colocated.ts no longer knows where to splice the study in');
  const study = readFileSync(new URL('./colocated.lua', import.meta.url), 'utf8');
  return source.replace(BEFORE, `${study}\n${BEFORE}`).replace(CALL, CALL.replace('logwin_check', 'logwin_ext'));
}

const plan3 = CASES.find((c) => c.plan === 'plan3')!;
const dir = mkdtempSync(join(tmpdir(), 'airl-colocated-'));
const server = await startCallgrind(dir);
try {
  const rows: string[] = [];
  for (const [name, source] of [['library', scripts.library.source], ['windows and counters in the log header', colocated()]] as const) {
    const redis = new Redis(server.port, '127.0.0.1');
    await redis.call('FUNCTION', 'LOAD', 'REPLACE', source);
    redis.disconnect();
    for (const per of [16, 50]) {
      const { steady, learn } = await captureChecks(plan3, per);
      const c = await count(server, dir, steady, per, plan3, 2000, learn);
      rows.push(`| ${name} | ${per} | ${c.total.toLocaleString('en-US')} | ${c.commands.toLocaleString('en-US')} | ${c.lua.toLocaleString('en-US')} |`);
    }
  }
  process.stdout.write(['| three-limit plan | per call | instructions / check | Redis commands | Lua |', '|---|---:|---:|---:|---:|', ...rows, ''].join('\n'));
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
