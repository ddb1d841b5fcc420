// GET /api/ai/quota: the legacy endpoint's shape ({ limit, spent, remaining, percentUsed, plan },
// in USD; limit and remaining null when unlimited), served by the tRPC `ai.quota` procedure.
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPCError } from '@trpc/server';

import { createCallerFactory, createContext, INTERNAL_ERROR_MESSAGE } from '~/server/trpc/init';
import { appRouter } from '~/server/trpc/router';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const createCaller = createCallerFactory(appRouter);

export async function GET(req: Request) {
  const headers = { 'Cache-Control': 'no-store' };
  try {
    const caller = createCaller(await createContext({ req, resHeaders: new Headers() }));
    const { spend } = await caller.ai.quota();
    const { limit, spent, remaining, percentUsed, plan, warning } = spend;
    return Response.json({ limit, spent, remaining, percentUsed, plan, warning }, { headers });
  } catch (error) {
    // a caller skips the errorFormatter: an unexpected error's own text (a client library's, a
    // URL...) goes to the server log, the client gets the app's sentence
    if (!(error instanceof TRPCError) || error.code === 'INTERNAL_SERVER_ERROR') {
      console.error('GET /api/ai/quota:', error);
      return Response.json({ error: INTERNAL_ERROR_MESSAGE, code: 'INTERNAL_SERVER_ERROR' }, { status: 500, headers });
    }
    return Response.json({ error: error.message, code: error.code }, { status: getHTTPStatusCodeFromError(error), headers });
  }
}
