// @upstash/ratelimit's sliding window (two fixed-window counters, the previous one weighted),
// on stock Redis through a small ioredis adapter.
//
// Its scripts start with `#!lua flags=allow-key-locking`, a flag only Upstash's server knows:
// Redis 7.0 rejects the script ("Unexpected flag in script shebang"), and Redis 6.2 does not read
// shebangs at all. The adapter drops that first line before Redis sees the script, so it runs as a
// plain (flag-less) script, the way the same code ran before the flag was added. Upstash's
// EVALSHA uses the hash of the original text; the adapter maps it to the hash of the text it
// loaded, so every call after the first is still one EVALSHA.
//
// On a Redis Cluster its two window keys (`prefix:id:window`) would sit in different slots, which
// a script may not touch together: there the identifier goes in a hash tag (`{id}`), as an app
// on a cluster would have to do, so both windows of an identifier share its slot.
import { createHash } from 'node:crypto';

import { Ratelimit, type RatelimitConfig } from '@upstash/ratelimit';
import { type BenchClient, connect, disconnect, type Implementation, type ImplementationOptions } from '../implementation';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** The script without an Upstash shebang line (`#!lua ...`); other scripts unchanged. */
export function withoutShebang(script: string): string {
  return script.startsWith('#!') ? script.slice(script.indexOf('\n') + 1) : script;
}

type Arg = string | number;

/** The part of @upstash/redis that @upstash/ratelimit's single-region limiters call. */
export interface UpstashRedisAdapter {
  evalsha(sha: string, keys: readonly string[], args: readonly unknown[]): Promise<unknown>;
  eval(script: string, keys: readonly string[], args: readonly unknown[]): Promise<unknown>;
  get(key: string): Promise<string | null>;
  set(key: string, value: Arg): Promise<unknown>;
}

export function upstashAdapter(redis: BenchClient): UpstashRedisAdapter {
  /** Upstash's hash of a script -> the hash of the text Redis got. */
  const loaded = new Map<string, string>();
  const argv = (args: readonly unknown[]) => args.map((a) => (a === null || a === undefined ? '' : (a as Arg)));
  return {
    async evalsha(sha, keys, args) {
      const local = loaded.get(sha);
      // not seen yet: answer like Redis would, and Upstash falls back to eval() with the text
      if (!local) throw new Error('NOSCRIPT No matching script (adapter: not loaded yet)');
      return redis.evalsha(local, keys.length, ...keys, ...argv(args));
    },
    async eval(script, keys, args) {
      const body = withoutShebang(script);
      const result = await redis.eval(body, keys.length, ...keys, ...argv(args));
      loaded.set(sha1(script), sha1(body));
      return result;
    },
    get: (key) => redis.get(key),
    set: (key, value) => redis.set(key, value),
  };
}

export interface UpstashOptions extends ImplementationOptions {
  /**
   * Its local cache of blocked identifiers (`ephemeralCache`), on by default in the library:
   * an identifier over its limit is denied in memory until its window ends.
   */
  readonly ephemeralCache?: boolean;
}

export function upstash(o: UpstashOptions): Implementation {
  return {
    id: o.id,
    label: o.label,
    prefix: o.prefix,
    commands: ['evalsha', 'eval'],
    async open() {
      const { client, sent } = await connect(o);
      const limiter = new Ratelimit({
        redis: upstashAdapter(client) as unknown as RatelimitConfig['redis'],
        limiter: Ratelimit.slidingWindow(o.spec.limit, `${o.spec.windowMs} ms`),
        prefix: o.prefix,
        analytics: false,
        enableTelemetry: false,
        ...(o.ephemeralCache === false && { ephemeralCache: false }),
      });
      const tagged = o.cluster !== undefined;
      return {
        check: async (id) => (await limiter.limit(tagged ? `{${id}}` : id)).success,
        sent,
        close: () => disconnect(client),
      };
    },
  };
}
