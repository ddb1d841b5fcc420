// The anomaly part of the Redis wire protocol: the rules and a settle's difference as script
// arguments, and the fired rules read back from a script reply (see src/lua/include/anomaly.lua).
import type { Fired, SettleAnomaly } from './counting';
import type { AnomalyRule, CompiledRules } from './rules';

const ruleArgs = new WeakMap<CompiledRules, string>();

/** A plan's rules as the Lua script reads them, '' when every rule is off (made once per plan). */
export function rulesArg(r: CompiledRules): string {
  let arg = ruleArgs.get(r);
  if (arg === undefined) ruleArgs.set(r, (arg = formatRules(r)));
  return arg;
}

function formatRules(r: CompiledRules): string {
  if (!r.burst && !r.denialStorm && !r.costSpike) return '';
  return [
    r.burst?.windowMs ?? 0,
    r.burst?.threshold ?? 0,
    r.denialStorm?.windowMs ?? 0,
    r.denialStorm?.threshold ?? 0,
    r.costSpike?.factor ?? 0,
    r.costSpike?.minCost ?? 0,
    r.costSpike?.minHours ?? 0,
  ].join('|');
}

/** settle.lua's last two arguments: the rules and the difference from the estimate ('' when no rules). */
export function settleAnomalyArgs(anomaly: SettleAnomaly | undefined): (string | number)[] {
  const rules = anomaly ? rulesArg(anomaly.rules) : '';
  return rules === '' ? [] : [rules, anomaly!.cost];
}

const RULE_CODES: Record<number, AnomalyRule> = { 1: 'burst', 2: 'denial-storm', 3: 'cost-spike' };

/** Fired rules from a script reply: a count at `at`, then rule code, value, threshold per rule. */
export function parseFired(reply: readonly number[], at: number): Fired[] {
  const fired: Fired[] = [];
  for (let f = 0, j = at + 1; f < (reply[at] ?? 0); f++, j += 3) fired.push({ rule: RULE_CODES[reply[j]!]!, value: reply[j + 1]!, threshold: reply[j + 2]! });
  return fired;
}
