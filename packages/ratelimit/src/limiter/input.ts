// A call's arguments, checked before anything is read or written: bad ones throw a
// RateLimitInputError that says what to pass instead.
import { RateLimitInputError } from '../errors';
import type { CompiledLimit, CompiledPlan, CompiledPolicy } from '../policy';
import type { Reservation } from './types';

export interface InputChecks {
  identifier(identifier: unknown): string;
  plan(plan: unknown): CompiledPlan;
  /** The limits a reset forgets: one by name, several, or (undefined) all of them. */
  resetLimits(limit: string | readonly string[] | undefined): CompiledLimit[];
  reservation(reservation: unknown): Reservation;
}

export function createInputChecks(policy: CompiledPolicy, maxLength: number): InputChecks {
  const planNames = [...policy.plans.keys()].join(', ');
  const allLimits = [...policy.limits.values()];
  return {
    identifier(identifier) {
      if (typeof identifier !== 'string' || identifier.length === 0 || identifier.length > maxLength) {
        const got = typeof identifier === 'string' ? `a string of ${identifier.length} characters` : typeof identifier;
        throw new RateLimitInputError(
          'INVALID_IDENTIFIER',
          `identifier must be a non-empty string of at most ${maxLength} characters (got ${got}); pass the creator or user id as a string`,
        );
      }
      return identifier;
    },
    plan(plan) {
      const compiled = typeof plan === 'string' ? policy.plans.get(plan) : undefined;
      if (!compiled) throw new RateLimitInputError('UNKNOWN_PLAN', `unknown plan '${String(plan)}'; the plans are: ${planNames}`);
      return compiled;
    },
    resetLimits(names) {
      if (names === undefined) return allLimits;
      const list: readonly unknown[] = typeof names === 'string' ? [names] : Array.isArray(names) ? names : [names];
      if (list.length === 0) throw new RateLimitInputError('UNKNOWN_LIMIT', 'limit is an empty list: name at least one limit, or leave it out to reset every limit');
      return [...new Set(list)].map((name) => {
        const limit = typeof name === 'string' ? policy.limits.get(name) : undefined;
        if (!limit) throw new RateLimitInputError('UNKNOWN_LIMIT', `unknown limit '${String(name)}'; the limits are: ${[...policy.limits.keys()].join(', ')}`);
        return limit;
      });
    },
    reservation(reservation) {
      const r = reservation as Partial<Reservation> | undefined;
      if (typeof r?.id !== 'string' || typeof r.identifier !== 'string' || typeof r.plan !== 'string' || typeof r.expiresAt !== 'number') {
        throw new RateLimitInputError('INVALID_RESERVATION', 'settle and refund take the reservation object that reserve() returned');
      }
      return r as Reservation;
    },
  };
}
