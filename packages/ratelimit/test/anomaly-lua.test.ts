// anomaly.lua's observe against counting.ts's, call by call, on what the model test does not
// reach: clocks that go back (calls stamped in an earlier step or hour), rules that change between
// calls (another plan on the same identifier), settles and peeks, long quiet spells. Checks go
// through observe_check (the check path), the rest through observe. The Lua runs
// in Redis (EVAL of the include and a driver, no keys), the field carried from call to call.
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';

import { type AnomalyState, type CompiledRules, emptyAnomalyState, observe, type Observed, rulesArg, type Stepped } from '../src/anomaly';
import { inline } from '../src/lua/render';
import { client } from './fixtures/stores';

// the counters after each call, decoded from the field as anomaly.lua's header lays it out and
// written as counting.ts holds them (see state() below): a drift shows at once, not only when it
// changes what fires
const DRIVER = inline(`--- @include "lib"
--- @include "anomaly"
lib_init()
local function g(v) return string.format('%.17g', v) end
local function stepped(step, ring, count, ends)
  if step < 0 then return '-' end
  local counts, sum = {}, 0
  for i = 1, 11 do
    counts[i] = g(ring[i])
    sum = sum + ring[i]
  end
  counts[step % 11 + 1] = g(count - sum)
  return g(step) .. ':' .. table.concat(counts, ',') .. ':' .. g(ends)
end
local function decode(s)
  local rings = #s - 104
  local b, st = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
  if rings > 0 then
    local ks = string.byte(s, 1) % 16
    local kb = (string.byte(s, 1) - ks) / 16
    if kb > 0 then b = { struct.unpack('<' .. string.rep('I' .. kb, 11), s, 2) } end
    if ks > 0 then st = { struct.unpack('<' .. string.rep('I' .. ks, 11), s, 2 + 11 * kb) } end
  end
  local b_until, s_until, c_until, normal, per_call, hours, hour, b_step, s_step, s_count, b_count, c_cost, c_calls = struct.unpack('<ddddddddddddd', s, rings + 1)
  local spike = '-'
  if hour >= 0 then spike = table.concat({ g(hour), g(c_cost), g(normal), g(hours), g(c_until), g(c_calls), g(per_call) }, ',') end
  return stepped(b_step, b, b_count, b_until) .. ' ' .. stepped(s_step, st, s_count, s_until) .. ' ' .. spike
end
local out, stored, writes = {}, nil, {}
for i = 1, #ARGV, 6 do
  writes[1], writes[2] = nil, nil
  local fired
  if ARGV[i + 5] == '1' then
    -- a check or reserve: the path checks take
    stored, fired = observe_check(stored, ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2] == '1', tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]))
  else
    fired = observe(stored, writes, 0, ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2] == '1', tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]))
    stored = writes[2]
  end
  local parts = {}
  for j, v in ipairs(fired or {}) do parts[j] = g(v) end
  out[#out + 1] = table.concat(parts, ',') .. ' | ' .. decode(stored)
end
return out
`);

/** counting.ts's state in the driver's words. */
function state(s: AnomalyState): string {
  const stepped = (r: Stepped | undefined) => (r ? `${r.step}:${r.counts.join(',')}:${r.until}` : '-');
  const c = s.spike;
  return `${stepped(s.burst)} ${stepped(s.storm)} ${c ? [c.hour, c.cost, c.baseline, c.hours, c.until, c.calls, c.perCall].join(',') : '-'}`;
}

const CODES = { burst: 1, 'denial-storm': 2, 'cost-spike': 3 } as const;
const MIN = 60_000;
const HOUR = 60 * MIN;

// small thresholds and short windows, so episodes start and end within a sequence
const rulesArb: fc.Arbitrary<CompiledRules> = fc.record({
  burst: fc.option(fc.record({ windowMs: fc.constantFrom(10_000, MIN, 5 * MIN, 7_777), threshold: fc.integer({ min: 1, max: 12 }), blockMs: fc.constant(0) }), { nil: undefined }),
  denialStorm: fc.option(fc.record({ windowMs: fc.constantFrom(10_000, MIN, 3 * MIN), threshold: fc.integer({ min: 1, max: 8 }), blockMs: fc.constant(0) }), { nil: undefined }),
  costSpike: fc.option(
    fc.record({ unit: fc.constant('tokens'), factor: fc.constantFrom(1.2, 1.5, 3), minCost: fc.integer({ min: 1, max: 30 }), minHours: fc.integer({ min: 1, max: 3 }), blockMs: fc.constant(0) }),
    { nil: undefined },
  ),
});

// a check or reserve (1 call), a settle (0 calls, allowed, any cost) or a peek reporting deny-cache hits
const callArb = fc.record({
  rules: fc.nat(2),
  // mostly forward within a step or two; sometimes back (another instance's clock), sometimes hours on
  dt: fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: 15_000 }) },
    { weight: 2, arbitrary: fc.integer({ min: -40_000, max: -1 }) },
    { weight: 2, arbitrary: fc.integer({ min: HOUR / 4, max: 2 * HOUR }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 * HOUR }) },
  ),
  kind: fc.constantFrom('check', 'check', 'check', 'settle', 'peek'),
  allowed: fc.boolean(),
  cost: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 }), fc.integer({ min: -30, max: 30 })),
  // now and then so many deny-cache hits that a ring's slots need more bytes
  pending: fc.oneof(
    { weight: 40, arbitrary: fc.constant(0) },
    { weight: 10, arbitrary: fc.integer({ min: 1, max: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom(300, 70_000, 2 ** 30, 2 ** 41, 2 ** 49) },
  ),
});

/** Runs `calls` through counting.ts and anomaly.lua; expects the same fired rules and counters after each. */
async function agree(calls: readonly { rules: CompiledRules; call: Observed }[]): Promise<void> {
  const counters = emptyAnomalyState();
  const args: (string | number)[] = [];
  const expected: string[] = [];
  for (const { rules, call } of calls) {
    args.push(rulesArg(rules), call.now, call.allowed ? 1 : 0, call.cost, call.pendingDenied, call.calls ?? 1);
    const fired = observe(counters, rules, call).map((f) => `${CODES[f.rule]},${f.value},${f.threshold}`);
    expected.push(`${fired.join(',')} | ${state(counters)}`);
  }
  // Lua writes each double in 17 digits, JavaScript in the fewest that read back the same
  const lines = (await client('redis').eval(DRIVER, 0, ...args)) as string[];
  expect(lines.map((l) => l.replace(/-?[\d.]+(e[+-]?\d+)?/g, (n) => String(Number(n))))).toEqual(expected);
}

describe('anomaly.lua', () => {
  it.prop([fc.array(rulesArb, { minLength: 3, maxLength: 3 }), fc.array(callArb, { minLength: 1, maxLength: 300 }), fc.integer({ min: 0, max: 2 * HOUR })], { numRuns: 150 })(
    'fires what counting.ts fires and holds the same counters, call by call',
    async (sets, calls, offset) => {
      const usable = sets.filter((r) => rulesArg(r) !== '');
      if (usable.length === 0) return;
      let now = Date.UTC(2026, 5, 1) + offset;
      await agree(
        calls.map((c) => {
          now += c.dt;
          const call: Observed =
            c.kind === 'check'
              ? { now, allowed: c.allowed, cost: Math.abs(c.cost), pendingDenied: c.pending, calls: 1 }
              : c.kind === 'settle'
                ? { now, allowed: true, cost: c.cost, pendingDenied: 0, calls: 0 }
                : { now, allowed: false, cost: 0, pendingDenied: c.pending, calls: 0 };
          return { rules: usable[c.rules % usable.length]!, call };
        }),
      );
    },
  );

  it('keeps rings of 7- and 6-byte slots (stored as 7 and 7: 13 would make an earlier layout\'s length)', async () => {
    // a burst step of 2^49 calls, then a storm step of 2^41 denials after the first left the storm's window
    const rules: CompiledRules = { burst: { windowMs: 100_000, threshold: 2 ** 52, blockMs: 0 }, denialStorm: { windowMs: 10_000, threshold: 2 ** 52, blockMs: 0 }, costSpike: undefined };
    const at = Date.UTC(2026, 5, 1);
    const call = (ms: number, pendingDenied: number): { rules: CompiledRules; call: Observed } => ({ rules, call: { now: at + ms, allowed: true, cost: 0, pendingDenied } });
    await agree([call(0, 2 ** 49), call(12_000, 2 ** 41), call(13_000, 0), call(14_000, 0), call(25_000, 0)]);
  });
});
