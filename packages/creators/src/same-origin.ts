// Entry point `@airl/creators/same-origin`: both apps' cross-site check for everything that
// changes state (pure, so it runs in middleware too). Next.js already refuses a server action
// whose Origin names another host (with a 500), but lets a request without Origin through;
// browsers send Origin on every POST, so here a missing or opaque ('null') Origin is refused too.

export type OriginCheck = { ok: true } | { ok: false; reason: string };

/** Whether a state-changing request comes from this app's own pages. */
export function checkSameOrigin(headers: Headers): OriginCheck {
  if (headers.get('sec-fetch-site') === 'cross-site') return { ok: false, reason: 'cross-site request' };
  const origin = headers.get('origin');
  if (!origin || origin === 'null') return { ok: false, reason: 'no Origin header' };
  // the host the browser used: behind a proxy, the one it forwarded (what Next.js compares too)
  const host = headers.get('x-forwarded-host')?.split(',')[0]?.trim() || headers.get('host');
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return { ok: false, reason: 'malformed Origin header' };
  }
  if (originHost.toLowerCase() !== host?.toLowerCase()) return { ok: false, reason: `Origin ${originHost} is not this app (${host ?? 'no host'})` };
  return { ok: true };
}
