// Liveness for deploys and tests: the server answers and its configuration is valid. It does not
// touch Redis (GET /api/test-redis does).
import { getApp } from '~/server/app';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET() {
  const app = getApp();
  return Response.json({ ok: true, storage: app.limiters.storage, provider: app.provider.kind });
}
