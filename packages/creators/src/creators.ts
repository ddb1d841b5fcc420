// Demo creators and where each creator's plan is kept. The plan is always looked up on the
// server: a session carries only the creator id.
import { type CreatorPlan, isPlan } from './plans';

export interface Creator {
  /** The identifier the limiters count under (and admin searches by). */
  readonly id: string;
  readonly name: string;
  readonly plan: CreatorPlan;
}

/** Creators to sign in as while there is no real sign-in (development, demos, tests). */
export const DEMO_CREATORS: readonly Creator[] = [
  { id: 'creator-ava', name: 'Ava (starter)', plan: 'starter' },
  { id: 'creator-ben', name: 'Ben (starter)', plan: 'starter' },
  { id: 'creator-chloe', name: 'Chloe (pro)', plan: 'pro' },
  { id: 'creator-dan', name: 'Dan (pro)', plan: 'pro' },
  { id: 'creator-eve', name: 'Eve (business)', plan: 'business' },
];

export const demoCreator = (id: string): Creator | undefined => DEMO_CREATORS.find((c) => c.id === id);

/** Where creators' plans live: the stand-in for the platform's subscription records. */
export interface CreatorDirectory {
  /** The creator, with the plan in force; undefined for an unknown id. */
  get(id: string): Promise<Creator | undefined>;
  /** Changes a creator's plan (the demo sign-in page, an admin). */
  setPlan(id: string, plan: CreatorPlan): Promise<void>;
}

/** The subset of an ioredis client the directory uses. */
export interface HashClient {
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
}

/**
 * Demo creators whose plans can be changed; kept in the Redis hash `key` (field: creator id,
 * value: plan) when given a client, else in memory.
 */
export function createDemoDirectory(redis?: () => HashClient, key = 'ratelimit-creators'): CreatorDirectory {
  const local = new Map<string, CreatorPlan>();
  return {
    async get(id) {
      const base = demoCreator(id);
      if (!base) return undefined;
      const stored = redis ? await redis().hget(key, id) : local.get(id);
      return isPlan(stored) ? { ...base, plan: stored } : base;
    },
    async setPlan(id, plan) {
      if (!demoCreator(id)) throw new Error(`unknown creator '${id}'`);
      if (redis) await redis().hset(key, id, plan);
      else local.set(id, plan);
    },
  };
}
