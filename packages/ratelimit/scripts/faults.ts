// `npm run faults` (or `pnpm --filter @airl/ratelimit faults`): runs every fault of
// scripts/faults/faults.ts against servers it starts on loopback and writes docs/reliability.md.
// Not part of `npm test`; test/faults.test.ts runs one quick fault through the same code.
//   FAULTS=outage,hung   only these faults (ids in faults.ts)
//   FAULTS_OUT=path      write the report there instead
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { FAULTS, type FaultResult } from './faults/faults';
import { machine, renderReport } from './faults/report';

const out = process.env.FAULTS_OUT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/reliability.md');
const only = process.env.FAULTS?.split(',').filter(Boolean);
const chosen = FAULTS.filter((f) => !only || only.includes(f.id));
if (chosen.length === 0) {
  console.error(`FAULTS names none of: ${FAULTS.map((f) => f.id).join(', ')}`);
  process.exit(1);
}

const m = machine();
const started = Date.now();
const results: FaultResult[] = [];
for (const fault of chosen) {
  const t = Date.now();
  process.stdout.write(`${fault.id} … `);
  const result = await fault.run();
  results.push(result);
  process.stdout.write(
    `${Math.round((Date.now() - t) / 1000)} s: worst ${result.worstMs} ms (bound ${result.boundMs}), admitted ${result.admitted} of ${result.admittedBound}, recovery ${result.recoveryMs ?? 'not seen'} ms\n`,
  );
}
fs.writeFileSync(out, renderReport(results, m, { date: new Date(), durationMs: Date.now() - started, command: 'npm run faults' }));
process.stdout.write(`wrote ${out}\n`);
// servers and children are stopped; a client reconnect timer must not keep the process alive
process.exit(0);
