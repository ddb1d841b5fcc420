// Turns what a caller says a call costs into one cost per limit of a plan, or a typed error.
import { RateLimitInputError } from './errors';
import { type CompiledPlan, type CompiledPolicy, REQUESTS } from './policy';

export function costRules(policy: CompiledPolicy) {
  const unitNames = [...policy.units].join(', ');

  function amount(value: unknown, unit: string, min: 0 | 1): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new RateLimitInputError(
        'INVALID_COST',
        `cost${unit ? ` of ${unit}` : ''} must be a whole number ${min === 1 ? '> 0' : '>= 0'} (got ${String(value)})`,
      );
    }
    return value;
  }

  /** The plan's cost unit for a plain number, or an error when the number is ambiguous. */
  function costUnit(plan: CompiledPlan): string {
    const others = plan.units.filter((u) => u !== REQUESTS);
    if (others.length > 1) {
      throw new RateLimitInputError(
        'INVALID_COST',
        `plan '${plan.name}' counts ${others.join(' and ')}; pass cost as an object, for example { ${others.map((u) => `${u}: 1`).join(', ')} }`,
      );
    }
    return others[0] ?? REQUESTS;
  }

  /** Cost by unit, as given (a number goes to the plan's cost unit). */
  function byUnit(plan: CompiledPlan, cost: unknown, min: 0 | 1): Map<string, number> {
    const units = new Map<string, number>();
    if (typeof cost === 'number' || typeof cost !== 'object' || cost === null) {
      units.set(costUnit(plan), amount(cost, '', min));
      return units;
    }
    const entries = Object.entries(cost as Record<string, unknown>);
    if (entries.length === 0) throw new RateLimitInputError('INVALID_COST', 'cost is an empty object; name at least one unit, for example { tokens: 1200 }');
    for (const [unit, value] of entries) {
      if (!policy.units.has(unit)) throw new RateLimitInputError('INVALID_COST', `no plan counts '${unit}'; the units are: ${unitNames}`);
      units.set(unit, amount(value, unit, min));
    }
    return units;
  }

  /**
   * One cost per limit of the plan, for check, peek and reserve. No cost: one request, or 1 of
   * the cost unit on a plan that does not count requests. Units not named: requests 1, others 0.
   */
  function perLimit(plan: CompiledPlan, cost: unknown): number[] {
    const units = cost !== undefined ? byUnit(plan, cost, 1) : plan.units.includes(REQUESTS) ? new Map<string, number>() : new Map([[costUnit(plan), 1]]);
    const costs = plan.limits.map((l) => units.get(l.unit) ?? (l.unit === REQUESTS ? 1 : 0));
    plan.limits.forEach((l, i) => {
      if (costs[i]! > l.limit) {
        throw new RateLimitInputError(
          'COST_OVER_LIMIT',
          `a cost of ${costs[i]} ${l.unit} can never fit limit '${l.name}' of plan '${plan.name}' (${l.limit} ${l.unit}); split the call or raise the limit`,
        );
      }
    });
    if (costs.every((c) => c === 0)) {
      throw new RateLimitInputError('INVALID_COST', `the cost charges none of plan '${plan.name}' units (${plan.units.join(', ')})`);
    }
    return costs;
  }

  return { byUnit, perLimit };
}

/** What a charge of these per-limit costs amounts to, per unit. */
export function unitAmounts(plan: CompiledPlan, costs: readonly number[]): Map<string, number> {
  const units = new Map<string, number>();
  plan.limits.forEach((l, i) => units.set(l.unit, Math.max(units.get(l.unit) ?? 0, costs[i]!)));
  return units;
}
