// The apps' server-side sessions through the limiter function, for compute that cannot reach Redis:
// a closed list of seven commands (the ones `@airl/creators/sessions` uses), one key each, run by
// the function only on keys under the sessions prefix it was given. Never a command by name.
import { RateLimitConfigError } from '../../errors';
import type { Operation, OperationName, SessionOperation, Value } from './wire';

/** The Redis commands the function runs for sessions: ioredis `Redis` and `Cluster` both have them. */
export interface SessionRedis {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  set(key: string, value: string, px: 'PX', ms: number, xx: 'XX'): Promise<unknown>;
  del(key: string): Promise<number>;
  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  pexpire(key: string, ms: number): Promise<number>;
}

/** What the handler needs to serve sessions. */
export interface LambdaSessionsOptions {
  /**
   * The only keys session commands may touch start with this (for example
   * `ratelimit-sessions:`, which holds the apps' `<prefix>-sessions:web` and `:admin`); any other
   * key refuses the whole request with `BAD_REQUEST`. Must not be empty.
   */
  prefix: string;
  /** The Redis client to run them on, or a function that makes it on first use. */
  client: SessionRedis | (() => SessionRedis | Promise<SessionRedis>);
}

/** The session commands as the apps call them (the shape of `SessionClient` in `@airl/creators/sessions`). */
export interface LambdaSessionClient {
  get(key: string): Promise<string | null>;
  /** Answers `'OK'`, or `null` when `XX` was given and the key did not exist (nothing written). */
  set(key: string, value: string, px: 'PX', ms: number, xx?: 'XX'): Promise<'OK' | null>;
  /** One operation per key (Redis Cluster: keys of several slots), the counts summed. */
  del(...keys: string[]): Promise<number>;
  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  pexpire(key: string, ms: number): Promise<number>;
}

const isSession = (o: Operation): o is SessionOperation => o.op.startsWith('session');

/** Checks the prefix option; returns it. */
export function sessionsPrefix(options: LambdaSessionsOptions | undefined): string | undefined {
  if (options && (typeof options.prefix !== 'string' || options.prefix.length === 0)) {
    throw new RateLimitConfigError('sessions.prefix: must be a non-empty key prefix such as "ratelimit-sessions:" (an empty one would open every key)');
  }
  return options?.prefix;
}

/** Why a request's session operations may not run (nothing of the request then runs); undefined if they may. */
export function refusal(ops: readonly Operation[], prefix: string | undefined): string | undefined {
  const sessions = ops.map((o, i) => [o, i] as const).filter(([o]) => isSession(o));
  if (sessions.length === 0) return undefined;
  if (prefix === undefined) return `ops.${sessions[0]![1]}: this function serves no sessions (its handler has no sessions option)`;
  const outside = sessions.find(([o]) => !(o as SessionOperation).key.startsWith(prefix));
  // the key itself is not echoed: it names a session
  return outside && `ops.${outside[1]}.key: ${outside[0].op} is allowed only on keys under the sessions prefix "${prefix}"`;
}

/** Runs one session operation on Redis; undefined for an operation that is not one. */
export async function runSession(redis: SessionRedis, o: Operation): Promise<unknown> {
  switch (o.op) {
    case 'sessionGet':
      return redis.get(o.key);
    case 'sessionSet':
      return (await (o.xx ? redis.set(o.key, o.value, 'PX', o.px, 'XX') : redis.set(o.key, o.value, 'PX', o.px))) === 'OK';
    case 'sessionDel':
      return redis.del(o.key);
    case 'sessionSadd':
      return redis.sadd(o.key, ...o.members);
    case 'sessionSrem':
      return redis.srem(o.key, ...o.members);
    case 'sessionSmembers':
      return redis.smembers(o.key);
    case 'sessionPexpire':
      return redis.pexpire(o.key, o.ms);
    default:
      throw new Error(`${o.op} is not a session operation`);
  }
}

type Call = <O extends OperationName>(op: Extract<Operation, { op: O }>) => Promise<Value<O>>;

/** The apps' session client over a Lambda store's invocations (its batching and deadline). */
export function createLambdaSessionClient(call: Call): LambdaSessionClient {
  return {
    get: (key) => call({ op: 'sessionGet', key }),
    async set(key, value, _px, ms, xx) {
      return (await call({ op: 'sessionSet', key, value, px: ms, xx: xx === 'XX' })) ? 'OK' : null;
    },
    async del(...keys) {
      const counts = await Promise.all(keys.map((key) => call({ op: 'sessionDel', key })));
      return counts.reduce((a, b) => a + b, 0);
    },
    sadd: (key, ...members) => call({ op: 'sessionSadd', key, members }),
    srem: (key, ...members) => call({ op: 'sessionSrem', key, members }),
    smembers: (key) => call({ op: 'sessionSmembers', key }),
    pexpire: (key, ms) => call({ op: 'sessionPexpire', key, ms }),
  };
}
