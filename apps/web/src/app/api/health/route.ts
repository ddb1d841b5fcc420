// Health for deploys and load balancers.
//   GET /api/health         liveness: 200 while the server answers and its configuration is valid,
//                           Redis or not; says whether it runs degraded (Redis unreachable), from
//                           the connection's state, without touching Redis.
//   GET /api/health?ready   readiness: PINGs Redis (500 ms): 200 when it answers, else 503 with
//                           what is wrong (never a host, a secret or a client library's text).
import { getApp } from '~/server/app';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const headers = { 'Cache-Control': 'no-store' };

export async function GET(req: Request) {
  const app = getApp();
  const redis = app.limiters.redisState();
  const degraded = redis === 'unreachable' || !app.limiters.directory.available();
  const live = { ok: true, storage: app.limiters.storage, provider: app.provider.kind, redis, degraded };
  if (!new URL(req.url).searchParams.has('ready')) return Response.json(live, { headers });
  const readiness = await app.limiters.readiness();
  return Response.json(
    { ...live, ready: readiness.ready, ...(readiness.problem && { problem: readiness.problem, degraded: true }) },
    { status: readiness.ready ? 200 : 503, headers },
  );
}
