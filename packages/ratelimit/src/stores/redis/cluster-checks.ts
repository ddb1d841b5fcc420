// On a cluster, checks go one call each (an identifier's keys share one slot, different
// identifiers do not, and a script may touch one slot), but those started in the same tick go
// together: the calls whose slots one node serves as one pipeline (`runEach`, `sendEach`), so a
// tick costs a write per node, not one per check. Order: a tick's checks are sent in the order
// they started, each node's in one pipeline on its one connection, and Redis runs a connection's
// commands in order: two checks of one identifier (one slot, one node) run in the order they started.
// Plans always go with their definition: each shard has its own library, and a retry after "plan
// unknown" would let a check overtake one started before it.
import { decodeChecks, encodeChecks } from '../../lua/protocol';
import type { EvaluateOutput } from '../../model';
import { type Queued, tickBatches } from './batches';
import type { RedisStoreClient } from './client';
import type { Deadlines } from './deadline';
import type { ScriptRunner } from './scripts';

export function clusterCheckSender(runner: ScriptRunner, batchMax: number, timeouts: Deadlines) {
  function send(c: RedisStoreClient, calls: readonly Queued[]): void {
    const replies = runner.runEach(
      c,
      calls.map((q) => {
        const { script, command } = encodeChecks([q], () => true);
        return { name: script, args: command };
      }),
    );
    replies.forEach((reply, i) => {
      const q = calls[i]!;
      reply.then(
        (value) => {
          const outputs: EvaluateOutput[] = [];
          if (decodeChecks(value, [q], [1], outputs) !== 1) timeouts.fail(q.watched, new Error('the Redis library refused a plan definition'));
          else if (timeouts.done(q.watched)) q.resolve(outputs[0]!);
        },
        (error: unknown) => timeouts.fail(q.watched, error),
      );
    });
  }

  /** A check.lua call, sent with the others of this tick (up to `batch` at a time; `1`: alone). */
  return tickBatches(batchMax, timeouts, send);
}
