// Entry point `@airl/creators/sessions`: server-side sessions for both apps. The cookie holds only
// a random token; the session lives in Redis under the SHA-256 of that token, with a TTL (or in
// this process's memory when the app has no Redis, as the limiters then do). Ending a session
// deletes it, so a copied cookie stops working at once: sign-out, "sign out everywhere", a
// changed password (`credential` no longer matches).
import { createHash, randomBytes } from 'node:crypto';

import { within } from './creators';

/** The commands the Redis sessions use: ioredis `Redis` and `Cluster` both have them. */
export interface SessionClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  set(key: string, value: string, px: 'PX', ms: number, xx: 'XX'): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  sadd(key: string, ...members: string[]): Promise<number>;
  srem(key: string, ...members: string[]): Promise<number>;
  smembers(key: string): Promise<string[]>;
  pexpire(key: string, ms: number): Promise<number>;
}

export interface Session {
  /** Who it is: a creator id, an admin name. */
  readonly subject: string;
  /** What must still match for the session to hold (an admin's password hash fingerprint); '' if nothing. */
  readonly credential: string;
  /** Epoch ms. */
  readonly createdAt: number;
  /** Epoch ms after which it ends whatever happens (sliding sessions never pass it). */
  readonly expiresAt: number;
}

export interface SessionStoreOptions {
  /** The app's Redis client (made lazily); undefined: sessions in this process's memory. */
  readonly client?: (() => SessionClient) | undefined;
  /** Key prefix, for example `ratelimit-sessions:admin`. */
  readonly prefix: string;
  /** How long a session lasts from its start, at most (ms). */
  readonly maxAgeMs: number;
  /**
   * Sliding: a session unused for this long ends (ms); each use pushes it back (at most once a
   * minute), never past `maxAgeMs`. Undefined: the session lasts `maxAgeMs`.
   */
  readonly idleMs?: number | undefined;
  /**
   * How long a read of a session this process saw before may wait for Redis before that copy
   * answers (ms). A session it never saw waits for the client's own timeout.
   * @default 300
   */
  readonly timeoutMs?: number;
  /**
   * While Redis is unreachable, a copy this process holds answers only if Redis confirmed it at
   * most this long ago (ms): a session ended on another instance (sign-out, "sign out
   * everywhere") stops working here within this window even through an outage. 0: fail closed
   * (no Redis, no session). Ignored without `client`.
   * @default 300_000 (5 minutes)
   */
  readonly outageGraceMs?: number;
  /**
   * How many sessions this process keeps (the copies for an outage on Redis; the sessions
   * themselves in memory), least recently used dropped first: in memory, a dropped session ends.
   * @default 10_000
   */
  readonly maxLocal?: number;
  /** The clock (tests). @default Date.now */
  readonly now?: () => number;
}

export interface SessionStore {
  /** Starts a session; returns the token to put in the cookie. */
  create(subject: string, credential?: string): Promise<string>;
  /**
   * The session of a token; undefined when it is missing, unknown, ended or expired. While Redis
   * is unreachable, the last copy this process read answers if Redis confirmed it within
   * `outageGraceMs` (and until it would have expired): a short Redis outage does not sign
   * everybody out, a session this process ended stays ended, and one ended elsewhere stops
   * working here once the window has passed.
   */
  read(token: string | undefined): Promise<Session | undefined>;
  /** Ends one session (sign-out). */
  end(token: string | undefined): Promise<void>;
  /** Ends every session of `subject` ("sign out everywhere"); returns how many there were. */
  endAll(subject: string): Promise<number>;
}

/** Tokens are 32 random bytes, base64url: anything else is refused without asking the store. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A short fingerprint of a secret (a password hash) to bind sessions to it without storing it. */
export function credentialFingerprint(secret: string): string {
  return createHash('sha256').update(`airl-session-credential:${secret}`).digest('base64url').slice(0, 22);
}

interface Stored extends Session {
  /** Last time the idle timer was pushed back (epoch ms). */
  readonly seenAt: number;
}

/** This process's copy of a session: when Redis last confirmed it (epoch ms; kept in memory only). */
interface Local extends Stored {
  readonly confirmedAt: number;
}

/** Makes a session store on Redis (when `client` is given) or in memory. */
export function createSessionStore(options: SessionStoreOptions): SessionStore {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 300;
  const graceMs = options.outageGraceMs ?? 5 * 60_000;
  const maxLocal = options.maxLocal ?? 10_000;
  const ttl = (s: Stored, at: number) => Math.min(options.idleMs ?? Infinity, s.expiresAt - at);
  const alive = (s: Stored, at: number) => at < s.expiresAt && (options.idleMs === undefined || at - s.seenAt < options.idleMs);
  // the sessions this process read or made (Redis: the copies used while Redis is unreachable),
  // least recently used first (a Map keeps insertion order): O(1) per request, at most maxLocal
  const local = new Map<string, Local>();
  const bySubject = new Map<string, Set<string>>();
  const forget = (id: string) => {
    const s = local.get(id);
    if (!s) return;
    local.delete(id);
    const ids = bySubject.get(s.subject);
    ids?.delete(id);
    if (ids?.size === 0) bySubject.delete(s.subject);
  };
  const remember = (id: string, s: Stored, confirmedAt: number) => {
    const old = local.get(id);
    if (old && old.subject !== s.subject) forget(id);
    local.delete(id); // re-inserted last: the most recently used
    local.set(id, { ...s, confirmedAt });
    let ids = bySubject.get(s.subject);
    if (!ids) bySubject.set(s.subject, (ids = new Set()));
    ids.add(id);
    if (local.size > maxLocal) forget(local.keys().next().value!);
  };
  const key = (id: string) => `${options.prefix}:session:${id}`;
  const index = (subject: string) => `${options.prefix}:subject:${encodeURIComponent(subject)}`;
  const publicView = ({ subject, credential, createdAt, expiresAt }: Stored): Session => ({ subject, credential, createdAt, expiresAt });
  const redis = options.client;

  return {
    async create(subject, credential = '') {
      const token = randomBytes(32).toString('base64url');
      const id = digest(token);
      const at = now();
      const s: Stored = { subject, credential, createdAt: at, expiresAt: at + options.maxAgeMs, seenAt: at };
      if (redis) {
        const c = redis();
        await c.set(key(id), JSON.stringify(s), 'PX', ttl(s, at));
        await c.sadd(index(subject), id);
        await c.pexpire(index(subject), options.maxAgeMs);
      }
      remember(id, s, at);
      return token;
    },

    async read(token) {
      if (!token || !TOKEN.test(token)) return undefined;
      const id = digest(token);
      const at = now();
      if (!redis) {
        const s = local.get(id);
        if (!s || !alive(s, at)) {
          forget(id);
          return undefined;
        }
        remember(id, options.idleMs !== undefined && at - s.seenAt >= 60_000 ? { ...s, seenAt: at } : s, at);
        return publicView(s);
      }
      let raw: string | null;
      const last = local.get(id);
      try {
        // bounded only when there is a copy to answer with; else the client's own timeout applies
        // (a first read on a cold connection must not be refused for being slow)
        const get = redis().get(key(id));
        raw = last ? await within(get, timeoutMs, () => new Error('session store timed out')) : await get;
      } catch {
        // only a copy Redis confirmed lately: a session ended on another instance must not live on
        return last && alive(last, at) && at - last.confirmedAt < graceMs ? publicView(last) : undefined;
      }
      const s = raw ? parse(raw) : undefined;
      if (!s || !alive(s, at)) {
        forget(id);
        return undefined;
      }
      if (options.idleMs !== undefined && at - s.seenAt >= 60_000) {
        const pushed = { ...s, seenAt: at };
        // XX: a session ended meanwhile is not brought back
        await redis()
          .set(key(id), JSON.stringify(pushed), 'PX', ttl(pushed, at), 'XX')
          .catch(() => undefined);
        remember(id, pushed, at);
      } else {
        remember(id, s, at);
      }
      return publicView(s);
    },

    async end(token) {
      if (!token || !TOKEN.test(token)) return;
      const id = digest(token);
      const s = local.get(id);
      forget(id);
      if (!redis) return;
      const c = redis();
      await c.del(key(id));
      if (s) await c.srem(index(s.subject), id);
    },

    async endAll(subject) {
      const ids = new Set(bySubject.get(subject));
      for (const id of ids) forget(id);
      if (!redis) return ids.size;
      const c = redis();
      const stored = await c.smembers(index(subject));
      // one DEL per key: under Redis Cluster the sessions sit on different slots
      const deleted = await Promise.all(stored.map((id) => c.del(key(id))));
      await c.del(index(subject));
      return deleted.reduce((a, b) => a + b, 0);
    },
  };
}

function parse(raw: string): Stored | undefined {
  try {
    const v = JSON.parse(raw) as Partial<Stored>;
    if (typeof v.subject !== 'string' || typeof v.expiresAt !== 'number' || typeof v.seenAt !== 'number' || typeof v.createdAt !== 'number') return undefined;
    return { subject: v.subject, credential: typeof v.credential === 'string' ? v.credential : '', createdAt: v.createdAt, expiresAt: v.expiresAt, seenAt: v.seenAt };
  } catch {
    return undefined;
  }
}

/** A cookie's value in a `Cookie` header (route handlers that read the raw request). */
export function cookieFrom(header: string | null, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}
