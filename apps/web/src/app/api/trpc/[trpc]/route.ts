import { fetchRequestHandler } from '@trpc/server/adapters/fetch';

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
      if (error.code === 'INTERNAL_SERVER_ERROR' || error.code === 'SERVICE_UNAVAILABLE') console.error(`tRPC ${path ?? '?'}: ${error.message}`, error.cause);
    },
  });
}

export { handler as GET, handler as POST };
