// Checks started in the same tick go to Redis together, in calls of up to `batch` checks, each
// sent as soon as it is full and the rest when the tick ends (each still atomic, run in the
// order they started); a cluster sends each as its own call, those
// of one node in one pipeline (cluster-checks.ts). Plans a server
// has answered for go by id alone, others with their definition.
import { type CheckCall, decodeChecks, encodeChecks } from '../../lua/protocol';
import type { EvaluateOutput } from '../../model';
import type { RedisStoreClient } from './client';
import { clusterCheckSender } from './cluster-checks';
import type { ScriptRunner } from './scripts';

// a check waiting for the end of this tick, to go to Redis together
interface Queued {
  readonly call: CheckCall;
  readonly resolve: (output: EvaluateOutput) => void;
  readonly reject: (error: unknown) => void;
}

export function checkSender(runner: ScriptRunner, batchMax: number) {
  let queued: Queued[] = [];
  const clusterCheck = clusterCheckSender(runner, batchMax);

  // plans a server has answered for: sent by id alone. Others go with their definition, so a
  // first use costs no extra round trip (and concurrent first uses keep their order). A cluster
  // always sends definitions: its shards each have their own library, and a retry after "plan
  // unknown" would let a check overtake one started before it.
  const knownPlans = new Set<string>();

  /**
   * Sends checks as one call (`check` for one, `checks` for several), each naming its plan by id
   * (by definition when not known to be known); those from the first whose plan the library did
   * not know (reloaded since, another shard, or EVAL, which keeps nothing) go again with theirs.
   */
  function sendChecks(c: RedisStoreClient, calls: readonly Queued[], definitions: boolean): void {
    const { command, groups } = encodeChecks(calls, (plan) => definitions || c.cluster || !knownPlans.has(plan.id));
    runner.run(c, calls.length === 1 ? 'check' : 'checks', command).then(
      (reply) => {
        const outputs: EvaluateOutput[] = [];
        const ran = decodeChecks(reply, calls, groups, outputs);
        for (let i = 0; i < ran; i++) {
          if (runner.functions) knownPlans.add(calls[i]!.call.plan.id);
          calls[i]!.resolve(outputs[i]!);
        }
        if (ran === calls.length) return;
        knownPlans.delete(calls[ran]!.call.plan.id);
        if (definitions) for (const q of calls.slice(ran)) q.reject(new Error('the Redis library refused a plan definition'));
        else sendChecks(c, calls.slice(ran), true);
      },
      (error: unknown) => {
        for (const call of calls) call.reject(error);
      },
    );
  }

  const sendQueued = (c: RedisStoreClient) => {
    const all = queued;
    queued = [];
    for (let from = 0; from < all.length; from += batchMax) sendChecks(c, all.slice(from, from + batchMax), runner.configured === 'eval');
  };

  /** A check.lua call, sent with the others of this tick (see `batch`). */
  return function check(c: RedisStoreClient, call: CheckCall): Promise<EvaluateOutput> {
    if (c.cluster) return clusterCheck(c, call);
    return new Promise((resolve, reject) => {
      if (batchMax === 1) {
        sendChecks(c, [{ call, resolve, reject }], runner.configured === 'eval');
        return;
      }
      queued.push({ call, resolve, reject });
      // a full batch goes at once: Redis runs it while this tick starts the next; the rest go
      // after the promise callbacks of this tick have run (their checks join them)
      if (queued.length >= batchMax) sendQueued(c);
      else if (queued.length === 1) process.nextTick(sendQueued, c);
    });
  };
}
