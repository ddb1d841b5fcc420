// The function side of bench/lambda.ts, in its own process as on AWS (the app and the function
// never share an event loop): the local Invoke endpoint running the real handler on the Redis
// store. Prints its URL; the function `stats` returns (and clears) the time spent in the handler.
import { Redis } from 'ioredis';

import { startInvokeEndpoint } from '@airl/vitest-config/lambda-endpoint';

import { createLambdaStoreHandler } from '../src/lambda-handler';
import { createRedisStore } from '../src/redis';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const handler = createLambdaStoreHandler({ store: createRedisStore({ client: redis, prefix: process.env.BENCH_PREFIX ?? 'bench-lambda' }) });
let times: number[] = [];
const endpoint = await startInvokeEndpoint({
  limiter: async (event) => {
    const t = performance.now();
    const out = await handler(event);
    times.push(performance.now() - t);
    return out;
  },
  stats: () => {
    const out = times;
    times = [];
    return Promise.resolve(out);
  },
});
process.stdout.write(`${endpoint.url}\n`);
process.once('SIGTERM', () => void endpoint.close().then(() => redis.quit()).then(() => process.exit(0)));
