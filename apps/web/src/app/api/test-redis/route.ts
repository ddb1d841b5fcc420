import { getApp } from '~/server/app';
import { testRedis } from '~/server/test-redis';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export function GET(req: Request) {
  return testRedis(req, getApp());
}
