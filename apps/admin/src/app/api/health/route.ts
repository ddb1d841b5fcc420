// Liveness for deploys and tests: the server answers and its configuration is valid. Public, so
// it says nothing else and touches no Redis.
import { getApp } from '~/server/app';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET() {
  getApp();
  return Response.json({ ok: true }, { headers: { 'Cache-Control': 'no-store' } });
}
