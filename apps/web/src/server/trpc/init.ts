// tRPC for the app: the context (session creator, response headers), the error formatter that
// carries rate limit data to the client, and the procedures every router builds on.
import 'server-only';

import type { DirectoryCreator } from '@airl/creators';
import { rateLimitErrorFormatter, type RateLimitMeta } from '@airl/ratelimit/trpc';
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';

import { AiCallError, type AiFailure } from '../ai/call';
import type { Feature } from '../ai/provider';
import { type App, getApp } from '../app';
import { sessionCookieFrom } from '../session';

export interface Context {
  readonly app: App;
  /** The signed-in creator's id (from the server-side session): what the limiters count under. */
  readonly creatorId: string | null;
  /** The creator with the plan in force, looked up on the server. */
  readonly creator: DirectoryCreator | null;
  readonly req: Request;
  readonly resHeaders: Headers;
}

export async function createContext({ req, resHeaders }: { req: Request; resHeaders: Headers }): Promise<Context> {
  const app = getApp();
  const creatorId = (await app.sessions.read(sessionCookieFrom(req.headers.get('cookie'))))?.subject ?? null;
  const creator = creatorId ? ((await app.limiters.directory.get(creatorId)) ?? null) : null;
  return { app, creatorId: creator ? creatorId : null, creator, req, resHeaders };
}

/** What a failed AI call's error carries to the client, under `error.data.ai`. */
export interface AiErrorData {
  readonly failure: AiFailure;
  /** Quoted to support: the server log line with the details has it. */
  readonly reference: string;
}

/** What a creator reads when something failed on the server: never the error's own text (a client library's, a URL...). */
export const INTERNAL_ERROR_MESSAGE = 'Something went wrong on our side. Please try again in a moment.';

/** The messages of a schema's issues, or undefined when `cause` is not a validation error. */
function inputProblems(cause: unknown): string | undefined {
  if (!(cause instanceof ZodError)) return undefined;
  return [...new Set(cause.issues.map((i) => i.message))].join(' ');
}

/** Per-procedure settings, in `.meta()`: the rate limits' (`rateLimit`) and the AI feature served. */
export interface AppMeta extends RateLimitMeta {
  /** The AI feature a procedure serves: the prompt its input builds, and so what it reserves. */
  feature?: Feature;
}

const t = initTRPC.context<Context>().meta<AppMeta>().create({
  errorFormatter(opts) {
    const shape = rateLimitErrorFormatter(opts);
    const cause = opts.error.cause;
    const ai: AiErrorData | null = cause instanceof AiCallError ? { failure: cause.failure, reference: cause.reference } : null;
    // the full error goes to the server log (the route's onError); the client gets a sentence
    // input the schema refused: its own messages (written for people), not the issues as JSON
    const message = opts.error.code === 'INTERNAL_SERVER_ERROR' && !ai ? INTERNAL_ERROR_MESSAGE : (inputProblems(cause) ?? shape.message);
    return { ...shape, message, data: { ...shape.data, ai } };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure;
export const middleware = t.middleware;

/** Procedures for a signed-in creator: `ctx.creator` is set. */
export const creatorProcedure = t.procedure.use(({ ctx, next }) => {
  if (!ctx.creator) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in to use the AI features.' });
  return next({ ctx: { creator: ctx.creator } });
});
