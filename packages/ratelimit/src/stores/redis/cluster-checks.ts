// On a cluster, checks go one call each (an identifier's keys share one slot, different
// identifiers do not, and a script may touch one slot), but those started in the same tick go
// together: the calls whose slots one node serves as one pipeline (`runEach`, `sendEach`), so a
// tick costs a write per node, not one per check. Order: a tick's checks are sent in the order
// they started, each node's in one pipeline on its one connection, and Redis runs a connection's
// commands in order: two checks of one identifier (one slot, one node) run in the order they started.
//
// Plans go by id to a slot whose node has answered for them, with their definition otherwise:
// each shard has its own library, so what one knows says nothing of another, and a first use
// costs no extra round trip. A node that has forgotten its plans (restarted, failed over, its
// library reloaded, or a slot moved to it) answers "plan unknown"; the check goes again with
// its definition, so it can run after a check of the same identifier started later in its tick
// that carried its own (the standalone store has the same window: checks.ts).
// cluster-key-slot ships no types: every package that compiles this file finds them through here
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../../types/cluster-key-slot.d.ts" />
import calculateSlot from 'cluster-key-slot';

import { decodeChecks, encodeChecks } from '../../lua/protocol';
import type { EvaluateOutput } from '../../model';
import { type Queued, tickBatches } from './batches';
import type { RedisStoreClient } from './client';
import type { Deadlines } from './deadline';
import type { ScriptRunner } from './scripts';

const SLOTS = 16_384;
/** Plans whose slots are tracked at most (16 KB each); past it, they are all sent with definitions again once. */
const PLANS_TRACKED = 256;

export function clusterCheckSender(runner: ScriptRunner, batchMax: number, timeouts: Deadlines) {
  // per plan id, the slots whose node has answered a check of it (1)
  const known = new Map<string, Uint8Array>();
  const slotsOf = (plan: string) => {
    let slots = known.get(plan);
    if (!slots) {
      if (known.size >= PLANS_TRACKED) known.clear();
      known.set(plan, (slots = new Uint8Array(SLOTS)));
    }
    return slots;
  };

  /** Sends checks one call each; `definitions`: every one with its plan's definition (a retry). */
  function send(c: RedisStoreClient, calls: readonly Queued[], definitions = false): void {
    const slots = calls.map((q) => calculateSlot(q.call.keys[0]!));
    const full = calls.map((q, i) => definitions || runner.configured === 'eval' || known.get(q.call.plan.id)?.[slots[i]!] !== 1);
    const replies = runner.runEach(
      c,
      calls.map((q, i) => {
        const { script, command } = encodeChecks([q], () => full[i]!);
        return { name: script, args: command };
      }),
    );
    replies.forEach((reply, i) => {
      const q = calls[i]!;
      reply.then(
        (value) => {
          const outputs: EvaluateOutput[] = [];
          if (decodeChecks(value, [q], [1], outputs) === 1) {
            if (runner.functions) slotsOf(q.call.plan.id)[slots[i]!] = 1;
            if (timeouts.done(q.watched)) q.resolve(outputs[0]!);
          } else if (full[i]) {
            timeouts.fail(q.watched, new Error('the Redis library refused a plan definition'));
          } else {
            slotsOf(q.call.plan.id)[slots[i]!] = 0;
            send(c, [q], true);
          }
        },
        (error: unknown) => timeouts.fail(q.watched, error),
      );
    });
  }

  /** A check.lua call, sent with the others of this tick (up to `batch` at a time; `1`: alone). */
  return tickBatches(batchMax, timeouts, (c, calls) => send(c, calls));
}
