// How the Lua runs: FCALL of the Functions library (loaded on first use, after a restart and on a
// new shard), or EVALSHA (EVAL after NOSCRIPT); 'auto' switches to scripts where the server
// refuses functions (Redis 6.2, or an ACL without FUNCTION).
import { createHash } from 'node:crypto';

import * as scripts from '../../lua/scripts.generated';
import type { Arg, RedisStoreClient, Script } from './client';

export type ScriptName = keyof typeof scripts.library.functions;
export type ScriptMode = 'auto' | 'functions' | 'eval';

const sha1 = (lua: string) => createHash('sha1').update(lua).digest('hex');
const SOURCES: Record<ScriptName, Script> = {
  check: { lua: scripts.check, sha: sha1(scripts.check) },
  checks: { lua: scripts.checks, sha: sha1(scripts.checks) },
  settle: { lua: scripts.settle, sha: sha1(scripts.settle) },
  reset: { lua: scripts.reset, sha: sha1(scripts.reset) },
  inspect: { lua: scripts.inspect, sha: sha1(scripts.inspect) },
};

/** The server cannot run functions: an old Redis, or an ACL without FUNCTION / FCALL. */
const functionsRefused = (error: unknown) => /unknown command|NOPERM|no permissions/i.test((error as Error).message);

export function scriptRunner(initial: ScriptMode) {
  let mode = initial;
  let used: 'functions' | 'eval' | undefined;
  let loading: Promise<unknown> | undefined;

  /** Loads the library on every master (a cluster's shards do not share functions). */
  const loadLibrary = (c: RedisStoreClient) =>
    (loading ??= c.everyMaster(['FUNCTION', 'LOAD', 'REPLACE', scripts.library.source]).finally(() => (loading = undefined)));

  /** Runs one of the scripts: FCALL, loading the library when missing, or EVALSHA. `args[1]` is its first key. */
  async function run(c: RedisStoreClient, name: ScriptName, args: readonly Arg[]): Promise<unknown> {
    const key = String(args[1]);
    if (mode !== 'eval') {
      try {
        const reply = await c.send(key, ['FCALL', scripts.library.functions[name], ...args]);
        used = 'functions';
        return reply;
      } catch (error) {
        if (/function not found/i.test((error as Error).message)) {
          try {
            await loadLibrary(c);
            const reply = await c.send(key, ['FCALL', scripts.library.functions[name], ...args]);
            used = 'functions';
            return reply;
          } catch (loadError) {
            if (mode !== 'auto' || !functionsRefused(loadError)) throw loadError;
          }
        } else if (mode !== 'auto' || !functionsRefused(error)) throw error;
        mode = 'eval';
      }
    }
    const reply = await c.evalScript(SOURCES[name], key, args);
    used = 'eval';
    return reply;
  }

  /**
   * Runs scripts, sent together (`sendEach`: on a cluster, one pipeline per
   * node), each with its own reply. A call the library was missing for (a new shard, a restart),
   * or that functions were refused for, goes again through `run`, which loads the library or
   * switches to scripts; replies come in order, so retries of one node's calls keep their order.
   */
  function runEach(c: RedisStoreClient, calls: readonly { readonly name: ScriptName; readonly args: readonly Arg[] }[]): Promise<unknown>[] {
    if (mode === 'eval' || !c.sendEach || calls.length === 1) return calls.map(({ name, args }) => run(c, name, args));
    const replies = c.sendEach(calls.map(({ name, args }) => ({ key: String(args[1]), args: ['FCALL', scripts.library.functions[name], ...args] })));
    return replies.map((reply, i) =>
      reply.then(
        (value) => {
          used = 'functions';
          return value;
        },
        (error: unknown) => {
          if (/function not found/i.test((error as Error).message) || functionsRefused(error)) return run(c, calls[i]!.name, calls[i]!.args);
          throw error;
        },
      ),
    );
  }

  return {
    run,
    runEach,
    /** What the last call used, or the configured mode before any call. */
    get mode(): ScriptMode {
      return used ?? mode;
    },
    /** The mode calls start in now (after 'auto' found functions refused: 'eval'). */
    get configured(): ScriptMode {
      return mode;
    },
    /** Whether the last call ran as a function (the library keeps plans). */
    get functions(): boolean {
      return used === 'functions';
    },
  };
}

export type ScriptRunner = ReturnType<typeof scriptRunner>;
