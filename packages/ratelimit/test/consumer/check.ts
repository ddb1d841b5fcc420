// Runs in the consumer project (see ../consumer.test.ts), compiled by tsc against the installed
// tarball: the README's server through the README's kind of client, over the fetch adapter.
// Prints one JSON line of what it saw; the test asserts on it.
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

import { getLimiter, handler, type AppRouter } from './readme/server.js';

const responses: Response[] = [];
const trpc = createTRPCClient<AppRouter>({
  links: [
    httpLink({
      url: 'http://consumer.test/trpc',
      headers: { 'x-demo-user': process.env.CONSUMER_USER ?? 'consumer' },
      fetch: async (input, init) => {
        const res = await handler(new Request(input, init as RequestInit));
        responses.push(res);
        return res;
      },
    }),
  ],
});

const calls: unknown[] = [];
for (let i = 0; i < 4; i++) {
  try {
    const reply = await trpc.caption.mutate({ description: `call ${i}` });
    calls.push({ ok: true, text: reply.text });
  } catch (error) {
    const data = error instanceof TRPCClientError ? (error as TRPCClientError<AppRouter>).data : undefined;
    calls.push({ ok: false, code: data?.code, httpStatus: data?.httpStatus, rateLimit: data?.rateLimit ?? null, message: (error as Error).message });
  }
}
const limiter = getLimiter();
const tokens = await limiter.peek(process.env.CONSUMER_USER ?? 'consumer', { plan: 'free', cost: { tokens: 1 } });
console.log(
  JSON.stringify({
    store: limiter.store.kind,
    calls,
    statuses: responses.map((r) => r.status),
    headers: responses.map((r) => Object.fromEntries([...r.headers].filter(([k]) => k.includes('ratelimit') || k === 'retry-after'))),
    tokensRemaining: tokens.limits.find((l) => l.name === 'tokens')?.remaining,
  }),
);
// a store passed in is the app's to close
await limiter.close();
await limiter.store.close?.();
