// A reference, not a peer: the least an exact-ish sliding log can do in one EVALSHA
// (ZREMRANGEBYSCORE, ZCARD, ZADD, PEXPIRE; no resetAt, no weights, the app's clock). Beside this
// project's script it shows what the engine's extra work costs in the same run.
import { connect, disconnect, type Implementation, type ImplementationOptions } from '../implementation';

const SCRIPT = `
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
local count = redis.call('ZCARD', key)
if count >= limit then return 0 end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return 1`;

export type MinimalLogOptions = ImplementationOptions;

export function minimalLog(o: MinimalLogOptions): Implementation {
  return {
    id: o.id,
    label: o.label,
    prefix: o.prefix,
    commands: ['evalsha', 'eval'],
    async open() {
      const { client, sent } = await connect(o);
      client.defineCommand('minimalLog', { lua: SCRIPT, numberOfKeys: 1 });
      const run = (client as unknown as { minimalLog(...args: (string | number)[]): Promise<number> }).minimalLog.bind(client);
      let seq = 0;
      return {
        async check(id) {
          const now = Date.now();
          return (await run(`${o.prefix}:${id}`, now, o.spec.windowMs, o.spec.limit, now * 1000 + (seq++ % 1000))) === 1;
        },
        sent,
        close: () => disconnect(client),
      };
    },
  };
}
