import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';

import type { AppRouter } from '~/server/trpc/router';

/** The browser's tRPC client: one HTTP request per batch of calls. */
export const trpc = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: '/api/trpc' })] });

export type ClientError = TRPCClientError<AppRouter>;
export const isClientError = (e: unknown): e is ClientError => e instanceof TRPCClientError;
