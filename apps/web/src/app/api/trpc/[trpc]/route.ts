import { checkSameOrigin } from '@airl/creators/same-origin';
import { TRPCError } from '@trpc/server';
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
    createContext: ({ resHeaders }) => {
      // the mutations spend money: a POST must come from this app's own pages (browsers send
      // Origin on every POST). Thrown here, before any procedure runs, the refusal is a 403 in
      // tRPC's own error shape (one per call of a batch), which the app's client reads.
      if (req.method === 'POST') {
        const check = checkSameOrigin(req.headers);
        if (!check.ok) throw new TRPCError({ code: 'FORBIDDEN', message: `Forbidden: ${check.reason}.` });
      }
      return createContext({ req, resHeaders });
    },
    onError({ error, path }) {
      // a failed AI call has its own log line (with the reference the creator sees)
      if (error.cause instanceof AiCallError) return;
      if (error.code === 'INTERNAL_SERVER_ERROR' || error.code === 'SERVICE_UNAVAILABLE') console.error(`tRPC ${path ?? '?'}: ${error.message}`, error.cause);
    },
  });
}

export { handler as GET, handler as POST };
