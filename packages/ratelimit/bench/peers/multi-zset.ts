// The plain sorted-set limiter found in many tutorials: one MULTI per call (ZREMRANGEBYSCORE,
// ZADD, ZCARD, PEXPIRE), then allowed when the count is within the limit. Six commands in one
// network round trip. Denied calls stay in the log (so a client that keeps calling stays denied),
// and the app's clock is the time: both are the pattern's, kept as found.
import { connect, disconnect, type Implementation, type ImplementationOptions } from '../implementation';

export type MultiZsetOptions = ImplementationOptions;

export function multiZset(o: MultiZsetOptions): Implementation {
  return {
    id: o.id,
    label: o.label,
    prefix: o.prefix,
    commands: ['multi', 'zremrangebyscore', 'zadd', 'zcard', 'pexpire', 'exec'],
    async open() {
      const { client, sent } = await connect(o);
      let seq = 0;
      return {
        async check(id) {
          const key = `${o.prefix}:${id}`;
          const now = Date.now();
          const replies = await client
            .multi()
            .zremrangebyscore(key, 0, now - o.spec.windowMs)
            .zadd(key, now, `${now}-${seq++}`)
            .zcard(key)
            .pexpire(key, o.spec.windowMs)
            .exec();
          if (!replies) throw new Error('MULTI was aborted');
          const [error, count] = replies[2]!;
          if (error) throw error;
          return (count as number) <= o.spec.limit;
        },
        sent,
        close: () => disconnect(client),
      };
    },
  };
}
