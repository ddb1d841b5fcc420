// Health for deploys and load balancers. Public, so it says no more than this and never names a
// host, a secret or a client library's text.
//   GET /api/health         liveness: 200 while the server answers and its configuration is valid,
//                           Redis or not, with `degraded` when its Redis connection is down (no round trip).
//   GET /api/health?ready   readiness: PINGs Redis (500 ms): 200 when it answers, else 503 with the problem.
import { getApp } from '~/server/app';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const headers = { 'Cache-Control': 'no-store' };

export async function GET(req: Request) {
  const app = getApp();
  const live = { ok: true, degraded: app.limiters.redisState() === 'unreachable' };
  if (!new URL(req.url).searchParams.has('ready')) return Response.json(live, { headers });
  const readiness = await app.limiters.readiness();
  return Response.json(
    { ...live, ready: readiness.ready, ...(readiness.problem && { problem: readiness.problem, degraded: true }) },
    { status: readiness.ready ? 200 : 503, headers },
  );
}
