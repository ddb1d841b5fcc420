// GET /api/shared-budget: the shared budgets' use now, for the Plans page's live panel (polled
// every 3 s while the page is visible). Signed-in admins only; never cached.
import { isRedisFailure } from '@airl/creators';

import { getApp } from '~/server/app';
import { currentAdmin } from '~/server/guard';
import { sharedBudgetUse } from '~/server/shared-budget';

import { REDIS_UNREACHABLE } from '../../unavailable';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const headers = { 'Cache-Control': 'no-store' };

export async function GET() {
  if (!(await currentAdmin())) return Response.json({ error: 'Sign in first.' }, { status: 401, headers });
  try {
    return Response.json(await sharedBudgetUse(getApp()), { headers });
  } catch (error) {
    if (!isRedisFailure(error)) throw error;
    console.warn(`Shared budget read failed: ${error.message}`);
    return Response.json({ error: REDIS_UNREACHABLE }, { status: 503, headers });
  }
}
