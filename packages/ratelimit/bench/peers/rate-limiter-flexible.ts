// rate-limiter-flexible's RateLimiterRedis: a fixed-window counter, one Lua script (INCRBY, PTTL,
// PEXPIRE on a new window) through ioredis defineCommand.
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

import { connect, disconnect, type Implementation, type ImplementationOptions } from '../implementation';

export interface FlexibleOptions extends ImplementationOptions {
  /**
   * Its local cache of blocked keys (`inMemoryBlockOnConsumed`): a key over its limit is denied
   * in memory until its window ends. Off by default, as in the library.
   */
  readonly inMemoryBlock?: boolean;
}

export function flexible(o: FlexibleOptions): Implementation {
  if (o.spec.windowMs % 1000 !== 0) throw new Error('rate-limiter-flexible counts windows in whole seconds');
  return {
    id: o.id,
    label: o.label,
    prefix: o.prefix,
    commands: ['evalsha', 'eval'],
    async open() {
      const { client, sent } = await connect(o);
      const limiter = new RateLimiterRedis({
        storeClient: client,
        keyPrefix: o.prefix,
        points: o.spec.limit,
        duration: o.spec.windowMs / 1000,
        ...(o.inMemoryBlock && { inMemoryBlockOnConsumed: o.spec.limit + 1 }),
      });
      return {
        async check(id) {
          try {
            await limiter.consume(id);
            return true;
          } catch (rejection) {
            // a denial rejects with a RateLimiterRes; anything else is a Redis error
            if (rejection instanceof RateLimiterRes) return false;
            throw rejection;
          }
        },
        sent,
        close: () => disconnect(client),
      };
    },
  };
}
