// What the fallback remembers of each identifier while the store answers (where it stands on each
// limit), so an outage starts from there: bounded, the least recently answered forgotten first.
import { describe, expect, it } from 'vitest';

import { createRateLimiter, type PlansConfig } from '../src/index';
import { createFallback } from '../src/failure/fallback';
import { compilePolicy } from '../src/policy';

const plans = { p: { limits: [{ name: 'minute', limit: 10, window: '1 m' }] }, q: { limits: [{ name: 'hour', limit: 10, window: '1 h' }] } } satisfies PlansConfig;
const policy = compilePolicy(plans);
const p = policy.plans.get('p')!;
const q = policy.plans.get('q')!;
const usedUp = [{ fits: false, remaining: 0, resetAt: 0 }];

function fallback(maxRemembered: number) {
  return createFallback({
    budget: 'shared',
    defaultMode: 'fallback',
    policy,
    make: (memory) => createRateLimiter<string>({ plans, store: memory, denyCache: false, controls: false, topConsumers: false, logger: false, fallbackBudget: 'full' }),
    now: () => Date.now(),
    maxRemembered,
    reservationTtlMs: 60_000,
    stateTtlMs: 3_600_000,
  });
}

/** Whether the fallback admits a check of `identifier` on `plan` (an outage starting now). */
async function admits(f: ReturnType<typeof fallback>, identifier: string, plan = p) {
  return (await f.outage('check', identifier, plan, undefined, 0)).result.allowed;
}

describe('the fallback memory of where identifiers stand', () => {
  it('starts an outage from the last answer: an identifier that had used its limit is denied, one not remembered gets its share', async () => {
    const f = fallback(10);
    f.remember(p, 'a', usedUp);
    expect(await admits(f, 'a')).toBe(false);
    expect(await admits(f, 'b')).toBe(true);
    await f.close();
  });

  it('past maxRemembered identifier + plan pairs, forgets the identifiers least recently answered first', async () => {
    const f = fallback(3);
    f.remember(p, 'a', usedUp);
    f.remember(p, 'b', usedUp);
    f.remember(q, 'b', usedUp);
    // answered again: now the most recent
    f.remember(p, 'a', usedUp);
    // a fourth pair: b (both its pairs) is the least recently answered
    f.remember(p, 'c', usedUp);
    expect(await admits(f, 'a')).toBe(false);
    expect(await admits(f, 'c')).toBe(false);
    expect(await admits(f, 'b')).toBe(true);
    expect(await admits(f, 'b', q)).toBe(true);
    await f.close();
  });

  it('a new identifier past maxRemembered takes the forgotten one\'s record, and nothing it held', async () => {
    const f = fallback(1);
    f.remember(p, 'a', usedUp);
    f.uncertain(p, 'a', [5]);
    // b is new: a's record, reset, is b's now (a used up, 5 of unknown outcome: none of it b's)
    f.uncertain(p, 'b', [1]);
    let admitted = 0;
    for (let i = 0; i < 12; i++) if (await admits(f, 'b')) admitted++;
    expect(admitted).toBe(9);
    expect(await admits(f, 'a')).toBe(true);
    await f.close();
  });

  it('reads what it knows by limit name: the plan answered may list its limits otherwise than the fallback\'s', async () => {
    const f = fallback(10);
    // the store answered on another version of p (as live plans change): an hourly limit first, its minute used up
    const answered = compilePolicy({ p: { limits: [{ name: 'hour', limit: 10, window: '1 h' }, plans.p.limits[0]] } }).plans.get('p')!;
    f.remember(answered, 'a', [{ fits: true, remaining: 10, resetAt: 0 }, ...usedUp]);
    expect(await admits(f, 'a')).toBe(false);
    await f.close();
  });

  it('a call of unknown outcome also counts as answered: it keeps its identifier remembered', async () => {
    const f = fallback(2);
    f.remember(p, 'a', usedUp);
    f.remember(p, 'b', usedUp);
    f.uncertain(p, 'a', [1]);
    f.remember(p, 'c', usedUp);
    expect(await admits(f, 'a')).toBe(false);
    expect(await admits(f, 'b')).toBe(true);
    await f.close();
  });
});
