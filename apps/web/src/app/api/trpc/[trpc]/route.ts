import { fetchRequestHandler } from '@trpc/server/adapters/fetch';

import { AiCallError } from '~/server/ai/call';
import { createContext } from '~/server/trpc/init';
import { appRouter } from '~/server/trpc/router';

// Node runtime: the limiters use ioredis; never cached
export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

function handler(req: Request) {
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ resHeaders }) => createContext({ req, resHeaders }),
    onError({ error, path }) {
      // a failed AI call has its own log line (with the reference the creator sees)
      if (error.cause instanceof AiCallError) return;
      if (error.code === 'INTERNAL_SERVER_ERROR' || error.code === 'SERVICE_UNAVAILABLE') console.error(`tRPC ${path ?? '?'}: ${error.message}`, error.cause);
    },
  });
}

export { handler as GET, handler as POST };
