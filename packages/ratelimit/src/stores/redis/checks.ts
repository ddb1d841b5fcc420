// Checks started in the same tick go to Redis together, in calls of up to `batch` checks, each
// sent as soon as it is full and the rest when the tick ends (each still atomic, run in the
// order they started); a cluster sends each as its own call, those
// of one node in one pipeline (cluster-checks.ts). Plans a server
// has answered for go by id alone, others with their definition.
import { type CheckCall, decodeChecks, encodeChecks } from '../../lua/protocol';
import type { EvaluateOutput } from '../../model';
import { type Queued, tickBatches } from './batches';
import type { RedisStoreClient } from './client';
import { clusterCheckSender } from './cluster-checks';
import { type Deadlines, waiting } from './deadline';
import type { ScriptRunner } from './scripts';

export function checkSender(runner: ScriptRunner, batchMax: number, timeouts: Deadlines) {
  const clusterCheck = clusterCheckSender(runner, batchMax, timeouts);

  // plans a server has answered for: sent by id alone. Others go with their definition, so a
  // first use costs no extra round trip (and concurrent first uses keep their order). A cluster
  // always sends definitions: its shards each have their own library, and a retry after "plan
  // unknown" would let a check overtake one started before it.
  const knownPlans = new Set<string>();

  /**
   * Sends checks as one call (see encodeChecks), each naming its plan by id
   * (by definition when not known to be known); those from the first whose plan the library did
   * not know (reloaded since, another shard, or EVAL, which keeps nothing) go again with theirs.
   */
  function sendChecks(c: RedisStoreClient, calls: readonly Queued[], definitions: boolean): void {
    const { script, command, groups } = encodeChecks(calls, (plan) => definitions || c.cluster || !knownPlans.has(plan.id));
    runner.run(c, script, command).then(
      (reply) => {
        const outputs: EvaluateOutput[] = [];
        const ran = decodeChecks(reply, calls, groups, outputs);
        for (let i = 0; i < ran; i++) {
          const q = calls[i]!;
          if (runner.functions) knownPlans.add(q.call.plan.id);
          if (timeouts.done(q.watched)) q.resolve(outputs[i]!);
        }
        if (ran === calls.length) return;
        knownPlans.delete(calls[ran]!.call.plan.id);
        if (definitions) for (const q of calls.slice(ran)) timeouts.fail(q.watched, new Error('the Redis library refused a plan definition'));
        else {
          // past its deadline a check is not sent again: its caller has been answered (or will be, by the sweep)
          const again = calls.slice(ran).filter((q) => waiting(q.watched));
          if (again.length > 0) sendChecks(c, again, true);
        }
      },
      (error: unknown) => {
        for (const q of calls) timeouts.fail(q.watched, error);
      },
    );
  }

  const standalone = tickBatches(batchMax, timeouts, (c, calls) => sendChecks(c, calls, runner.configured === 'eval'));

  /** A check.lua call, sent with the others of this tick (see `batch`), answered by `deadline` (performance.now()) or the store's timeout. */
  return (c: RedisStoreClient, call: CheckCall, deadline?: number): Promise<EvaluateOutput> => (c.cluster ? clusterCheck(c, call, deadline) : standalone(c, call, deadline));
}
