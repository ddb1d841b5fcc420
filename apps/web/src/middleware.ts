// A state-changing request to a page (a server action) from another site, with an opaque or no
// Origin, is answered 403 before Next.js handles it (Next.js lets a missing Origin through, and
// answers a foreign one with a 500). API routes are left to their own checks (the tRPC route refuses such a POST with a 403 in tRPC's error shape).
import { checkSameOrigin } from '@airl/creators/same-origin';
import { type NextRequest, NextResponse } from 'next/server';

export function middleware(req: NextRequest) {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return NextResponse.next();
  const check = checkSameOrigin(req.headers);
  if (check.ok) return NextResponse.next();
  return new NextResponse(`Forbidden: ${check.reason}.`, { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}

export const config = { matcher: '/((?!api/|_next/static|_next/image).*)' };
