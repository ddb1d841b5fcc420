// The checks of a tick, queued to go to Redis together (checks.ts on one server,
// cluster-checks.ts on a cluster).
import type { CheckCall } from '../../lua/protocol';
import type { EvaluateOutput } from '../../model';
import type { RedisStoreClient } from './client';
import type { Deadlines, Watched } from './deadline';

/**
 * A check waiting to go to Redis with the others of its tick. `watched` is its deadline's record
 * (small: the deadlines' sweep holds it until its next turn, and what it holds lives as long):
 * answer the check only when `done(watched)`.
 */
export interface Queued {
  readonly call: CheckCall;
  readonly resolve: (output: EvaluateOutput) => void;
  readonly watched: Watched;
}

/**
 * The checks of a tick, sent by `send` in calls of up to `batchMax`: a call as soon as it is
 * full (Redis runs it while this tick starts the next), the rest after the promise callbacks of
 * this tick have run (their checks join them); with `batchMax` 1, each alone at once. Each check
 * is watched until `deadline` (performance.now(), or the store's timeout when sooner); past it,
 * it is not sent.
 */
export function tickBatches(batchMax: number, timeouts: Pick<Deadlines, 'watch'>, send: (c: RedisStoreClient, calls: readonly Queued[]) => void) {
  let queued: Queued[] = [];
  const sendQueued = (c: RedisStoreClient) => {
    const all = queued;
    queued = [];
    for (let from = 0; from < all.length; from += batchMax) send(c, all.slice(from, from + batchMax));
  };
  return (c: RedisStoreClient, call: CheckCall, deadline = Infinity): Promise<EvaluateOutput> =>
    new Promise((resolve, reject) => {
      const q: Queued = { call, resolve, watched: { deadline, what: 'check', reject } };
      if (!timeouts.watch(q.watched)) return;
      if (batchMax === 1) return send(c, [q]);
      queued.push(q);
      if (queued.length >= batchMax) sendQueued(c);
      else if (queued.length === 1) process.nextTick(sendQueued, c);
    });
}
