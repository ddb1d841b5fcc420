// On a cluster, checks go one call each (an identifier's keys share one slot, different
// identifiers do not, and a script may touch one slot), but those started in the same tick go
// together: the calls whose slots one node serves as one pipeline (`runEach`, `sendEach`), so a
// tick costs a write per node, not one per check. Order: a tick's checks are sent in the order
// they started, each node's in one pipeline on its one connection, and Redis runs a connection's
// commands in order: two checks of one identifier (one slot, one node) run in the order they started.
// Plans always go with their definition: each shard has its own library, and a retry after "plan
// unknown" would let a check overtake one started before it.
import { type CheckCall, decodeChecks, encodeChecks } from '../../lua/protocol';
import type { EvaluateOutput } from '../../model';
import type { RedisStoreClient } from './client';
import type { ScriptRunner } from './scripts';

interface Queued {
  readonly call: CheckCall;
  readonly resolve: (output: EvaluateOutput) => void;
  readonly reject: (error: unknown) => void;
}

export function clusterCheckSender(runner: ScriptRunner, batchMax: number) {
  let queued: Queued[] = [];

  function send(c: RedisStoreClient, calls: readonly Queued[]): void {
    const replies = runner.runEach(
      c,
      'check',
      calls.map((q) => encodeChecks([q], () => true).command),
    );
    replies.forEach((reply, i) => {
      const q = calls[i]!;
      reply.then(
        (value) => {
          const outputs: EvaluateOutput[] = [];
          if (decodeChecks(value, [q], [1], outputs) === 1) q.resolve(outputs[0]!);
          else q.reject(new Error('the Redis library refused a plan definition'));
        },
        (error: unknown) => q.reject(error),
      );
    });
  }

  const sendQueued = (c: RedisStoreClient) => {
    const all = queued;
    queued = [];
    for (let from = 0; from < all.length; from += batchMax) send(c, all.slice(from, from + batchMax));
  };

  /** A check.lua call, sent with the others of this tick (up to `batch` at a time; `1`: alone). */
  return function check(c: RedisStoreClient, call: CheckCall): Promise<EvaluateOutput> {
    return new Promise((resolve, reject) => {
      if (batchMax === 1) return send(c, [{ call, resolve, reject }]);
      queued.push({ call, resolve, reject });
      // a full batch goes at once (as checks.ts); the rest after this tick's promise callbacks
      if (queued.length >= batchMax) sendQueued(c);
      else if (queued.length === 1) process.nextTick(sendQueued, c);
    });
  };
}
