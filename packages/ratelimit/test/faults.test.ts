// The fault report's code path on one quick fault (a server that never answers), so the report
// (`npm run faults`, never part of `npm test`) cannot rot: the fault runs against real servers, its
// figures are measured, and the Markdown carries them with the machine. Whether the engine keeps
// each promise is for the report to show and the engine's own tests to assert.
import { describe, expect, it } from 'vitest';

import { FAULTS, hungServer, TIMEOUT_MS } from '../scripts/faults/faults';
import { machine, renderReport } from '../scripts/faults/report';

describe('the fault report', () => {
  it('measures a hung server and renders the result with the machine it ran on', { timeout: 60_000 }, async () => {
    const result = await hungServer({ seconds: 2 });
    expect(result.calls).toBeGreaterThan(0);
    // nothing answers from the hung server: the failure policy does, and the fallback holds the limit
    expect(result.degraded).toBeGreaterThan(0);
    expect(result.admitted).toBeGreaterThan(0);
    expect(result.admitted).toBeLessThanOrEqual(result.admittedBound);
    // a call waits at least for the store timeout before the policy answers
    expect(result.worstMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(result.recoveryMs).toBeGreaterThan(0);

    const m = machine();
    expect(m.cores).toBeGreaterThan(0);
    expect(m.redis).toMatch(/^\d+\.\d+/);
    const md = renderReport([result], m, { date: new Date('2026-01-02T03:04:00Z'), durationMs: 5000, command: 'npm run faults' });
    expect(md).toContain('| [Server accepts and never answers](#server-accepts-and-never-answers) |');
    expect(md).toContain(`${result.admitted} of ${result.admittedBound} requests, while hung`);
    expect(md).toContain(`Machine: ${m.cores} cores`);
    expect(md).toContain(`Redis ${m.redis}`);
    expect(md).toContain('2026-01-02 03:04 UTC');
  });

  it('lists every fault the issue names, once', () => {
    expect(FAULTS.map((f) => f.id)).toEqual(['outage', 'hung', 'slow-host', 'cluster-master', 'clock-skew', 'cold-start']);
  });
});
