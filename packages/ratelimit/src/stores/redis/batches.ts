// The checks of a tick, queued to go to Redis together (checks.ts on one server,
// cluster-checks.ts on a cluster).
import type { CheckCall } from '../../lua/protocol';
import type { EvaluateOutput } from '../../model';
import type { RedisStoreClient } from './client';

/** A check waiting to go to Redis with the others of its tick. */
export interface Queued {
  readonly call: CheckCall;
  readonly resolve: (output: EvaluateOutput) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The checks of a tick, sent by `send` in calls of up to `batchMax`: a call as soon as it is
 * full (Redis runs it while this tick starts the next), the rest after the promise callbacks of
 * this tick have run (their checks join them); with `batchMax` 1, each alone at once.
 */
export function tickBatches(batchMax: number, send: (c: RedisStoreClient, calls: readonly Queued[]) => void) {
  let queued: Queued[] = [];
  const sendQueued = (c: RedisStoreClient) => {
    const all = queued;
    queued = [];
    for (let from = 0; from < all.length; from += batchMax) send(c, all.slice(from, from + batchMax));
  };
  return (c: RedisStoreClient, call: CheckCall): Promise<EvaluateOutput> =>
    new Promise((resolve, reject) => {
      if (batchMax === 1) return send(c, [{ call, resolve, reject }]);
      queued.push({ call, resolve, reject });
      if (queued.length >= batchMax) sendQueued(c);
      else if (queued.length === 1) process.nextTick(sendQueued, c);
    });
}
