// Demo creators and where each creator's plan is kept. The plan is always looked up on the
// server: a session carries only the creator id.
import { type CreatorPlan, isPlan } from './plans';

export interface Creator {
  /** The identifier the limiters count under (and admin searches by). */
  readonly id: string;
  readonly name: string;
  readonly plan: CreatorPlan;
}

/**
 * Creators to sign in as while there is no real sign-in (development, demos, tests). A name is
 * only a name: the plan in force (an admin may override it) is shown beside it, never in it.
 */
export const DEMO_CREATORS: readonly Creator[] = [
  { id: 'creator-ava', name: 'Ava', plan: 'starter' },
  { id: 'creator-ben', name: 'Ben', plan: 'starter' },
  { id: 'creator-chloe', name: 'Chloe', plan: 'pro' },
  { id: 'creator-dan', name: 'Dan', plan: 'pro' },
  { id: 'creator-eve', name: 'Eve', plan: 'business' },
];

export const demoCreator = (id: string): Creator | undefined => DEMO_CREATORS.find((c) => c.id === id);

/** Where a creator's plan came from. */
export type PlanSource = 'directory' | 'last-known' | 'degraded-plan';

/** A creator as the directory answers: with the plan in force and where it came from. */
export interface DirectoryCreator extends Creator {
  /**
   * `directory`: read just now. While the directory cannot be read: `last-known`, the plan this
   * instance last read, or `degraded-plan`, the configured plan for creators it never read.
   */
  readonly planSource: PlanSource;
}

/** The directory could not be read or written (Redis failed or did not answer in time). */
export class CreatorDirectoryError extends Error {
  override name = 'CreatorDirectoryError';
}

/** Where creators' plans live: the stand-in for the platform's subscription records. */
export interface CreatorDirectory {
  /**
   * The creator, with the plan in force; undefined for an unknown id. Never fails because Redis
   * does: within `timeout`, the last known plan or the degraded plan answers instead.
   */
  get(id: string): Promise<DirectoryCreator | undefined>;
  /** Changes a creator's plan (the demo sign-in page, an admin). Throws {@link CreatorDirectoryError} when Redis fails. */
  setPlan(id: string, plan: CreatorPlan): Promise<void>;
  /** False from a failed read until a read succeeds again: plans come from memory meanwhile. */
  available(): boolean;
}

/** The subset of an ioredis client the directory uses. */
export interface HashClient {
  hget(key: string, field: string): Promise<string | null>;
  hset(key: string, field: string, value: string): Promise<number>;
}

export interface DirectoryOptions {
  /**
   * The plan of a creator this instance never read, while the directory cannot be read
   * (`CREATOR_DEGRADED_PLAN` in the apps).
   * @default 'starter' (the smallest: an outage never gives a creator more than the least they pay for)
   */
  degradedPlan?: CreatorPlan;
  /**
   * The longest a read waits for Redis before the memory answers (the limiter's own bound comes on top).
   * @default 300
   */
  timeoutMs?: number;
  /**
   * After a failed read, reads skip Redis for this long (answered from memory at once), then one tries again.
   * @default 2000
   */
  retryAfterMs?: number;
  /**
   * How long a plan read from Redis may answer for it while Redis cannot be read; older, the degraded plan does.
   * @default 3_600_000 (1 h)
   */
  lastKnownTtlMs?: number;
  /**
   * Creators whose last known plan is kept (least recently used dropped first).
   * @default 10_000
   */
  maxEntries?: number;
}

/** `work`, or the error `late()` makes once `ms` have passed (whichever comes first). */
export function within<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(late()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const deadline = <T>(work: Promise<T>, ms: number): Promise<T> => within(work, ms, () => new CreatorDirectoryError(`the creator directory did not answer within ${ms} ms`));

/**
 * Demo creators whose plans can be changed; kept in the Redis hash `key` (field: creator id,
 * value: plan) when given a client, else in memory. On Redis, every read asks Redis (so a change
 * made anywhere applies on the next call) and remembers the answer, bounded in count and age:
 * when Redis fails or is slow, that last known plan answers, or for a creator never read, the
 * degraded plan, so a Redis outage never fails the request; the limiter's own failure policy then
 * decides.
 */
export function createDemoDirectory(redis?: () => HashClient, key = 'ratelimit-creators', options: DirectoryOptions = {}): CreatorDirectory {
  const local = new Map<string, CreatorPlan>();
  const degradedPlan = options.degradedPlan ?? 'starter';
  const timeoutMs = options.timeoutMs ?? 300;
  const retryAfterMs = options.retryAfterMs ?? 2000;
  const ttlMs = options.lastKnownTtlMs ?? 3_600_000;
  const maxEntries = options.maxEntries ?? 10_000;
  // last known plans, least recently read first
  const known = new Map<string, { plan: CreatorPlan; at: number }>();
  let skipUntil = 0;
  let healthy = true;

  const remember = (id: string, plan: CreatorPlan) => {
    known.delete(id);
    known.set(id, { plan, at: Date.now() });
    if (known.size > maxEntries) known.delete(known.keys().next().value!);
  };
  const fromMemory = (base: Creator): DirectoryCreator => {
    const last = known.get(base.id);
    return last && Date.now() - last.at <= ttlMs ? { ...base, plan: last.plan, planSource: 'last-known' } : { ...base, plan: degradedPlan, planSource: 'degraded-plan' };
  };

  return {
    async get(id) {
      const base = demoCreator(id);
      if (!base) return undefined;
      if (!redis) {
        const stored = local.get(id);
        return { ...base, plan: stored ?? base.plan, planSource: 'directory' };
      }
      if (Date.now() < skipUntil) return fromMemory(base);
      let stored: string | null;
      try {
        stored = await deadline(redis().hget(key, id), timeoutMs);
      } catch {
        healthy = false;
        skipUntil = Date.now() + retryAfterMs;
        return fromMemory(base);
      }
      healthy = true;
      skipUntil = 0;
      const plan = isPlan(stored) ? stored : base.plan;
      remember(id, plan);
      return { ...base, plan, planSource: 'directory' };
    },
    async setPlan(id, plan) {
      if (!demoCreator(id)) throw new Error(`unknown creator '${id}'`);
      if (!redis) {
        local.set(id, plan);
        return;
      }
      try {
        await redis().hset(key, id, plan);
      } catch (error) {
        throw new CreatorDirectoryError('the creator directory (Redis) is unreachable: the plan was not changed', { cause: error });
      }
      remember(id, plan);
    },
    available: () => healthy,
  };
}

const REDIS_FAILURES = new Set(['RateLimitStoreError', 'CreatorDirectoryError', 'RedisConnectionError']);

/**
 * Whether `error` is Redis failing: the engine's store error, the directory's, or a connection
 * failure with its cause named. By name, not `instanceof`: Next.js bundles a package once per
 * entry (instrumentation, each route), so the class an object was made with may not be the one a
 * page imports.
 */
export function isRedisFailure(error: unknown): error is Error {
  return error instanceof Error && REDIS_FAILURES.has(error.name);
}
