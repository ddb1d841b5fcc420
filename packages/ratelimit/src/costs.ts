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
    // on every call with a cost: no list made unless to say what is wrong
    let unit: string | undefined;
    for (const u of plan.units) {
      if (u === REQUESTS) continue;
      if (unit === undefined) {
        unit = u;
        continue;
      }
      const others = plan.units.filter((o) => o !== REQUESTS);
      throw new RateLimitInputError(
        'INVALID_COST',
        `plan '${plan.name}' counts ${others.join(' and ')}; pass cost as an object, for example { ${others.map((o) => `${o}: 1`).join(', ')} }`,
      );
    }
    return unit ?? REQUESTS;
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

  // a plan's costs when a call names none: the same for every call, made once (never changed)
  const defaults = new WeakMap<CompiledPlan, readonly number[]>();

  /**
   * One cost per limit of the plan, for check, peek and reserve. No cost: one request, or 1 of
   * the cost unit on a plan that does not count requests. Units not named: requests 1, others 0.
   */
  function perLimit(plan: CompiledPlan, cost: unknown): readonly number[] {
    if (cost === undefined) {
      let costs = defaults.get(plan);
      if (!costs) {
        defaults.set(plan, (costs = checked(plan, spread(plan, plan.units.includes(REQUESTS) ? undefined : costUnit(plan), 1))));
        defaultAmounts.set(costs, unitAmounts(plan, costs));
      }
      return costs;
    }
    // a number, the usual cost: no map of units made
    if (typeof cost === 'number') return checked(plan, spread(plan, costUnit(plan), amount(cost, '', 1)));
    const units = byUnit(plan, cost, 1);
    return checked(
      plan,
      plan.limits.map((l) => units.get(l.unit) ?? (l.unit === REQUESTS ? 1 : 0)),
    );
  }

  /** `amount` on the limits of `unit`; on the others, requests 1 and other units 0. */
  function spread(plan: CompiledPlan, unit: string | undefined, amount: number): number[] {
    const costs: number[] = [];
    for (const l of plan.limits) costs.push(l.unit === unit ? amount : l.unit === REQUESTS ? 1 : 0);
    return costs;
  }

  /** Per-limit costs, checked: each must fit its limit, and one must charge something. */
  function checked(plan: CompiledPlan, costs: number[]): number[] {
    let charged = false;
    for (let i = 0; i < costs.length; i++) {
      const l = plan.limits[i]!;
      if (costs[i]! > l.limit) {
        throw new RateLimitInputError(
          'COST_OVER_LIMIT',
          `a cost of ${costs[i]} ${l.unit} can never fit limit '${l.name}' of plan '${plan.name}' (${l.limit} ${l.unit}); split the call or raise the limit`,
        );
      }
      if (costs[i] !== 0) charged = true;
    }
    if (!charged) throw new RateLimitInputError('INVALID_COST', `the cost charges none of plan '${plan.name}' units (${plan.units.join(', ')})`);
    return costs;
  }

  return { byUnit, perLimit };
}

// the amounts of a plan's default costs (perLimit without a cost), made once with them
const defaultAmounts = new WeakMap<readonly number[], ReadonlyMap<string, number>>();

/** What a charge of these per-limit costs amounts to, per unit. */
export function unitAmounts(plan: CompiledPlan, costs: readonly number[]): ReadonlyMap<string, number> {
  const known = defaultAmounts.get(costs);
  if (known) return known;
  const units = new Map<string, number>();
  for (let i = 0; i < plan.limits.length; i++) {
    const { unit } = plan.limits[i]!;
    units.set(unit, Math.max(units.get(unit) ?? 0, costs[i]!));
  }
  return units;
}
