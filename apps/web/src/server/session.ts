// The session: a signed (HS256) token in an httpOnly cookie that carries only the creator id.
// The plan is looked up on the server on every request, never read from the client.
import { jwtVerify, SignJWT } from 'jose';

export const SESSION_COOKIE = 'airl_session';
export const SESSION_MAX_AGE_S = 7 * 24 * 3600;

export async function createSessionToken(creatorId: string, secret: Uint8Array): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(creatorId)
    .setIssuedAt()
    .setExpirationTime(`${SESSION_MAX_AGE_S}s`)
    .sign(secret);
}

/** The creator id of a valid token; undefined when it is missing, forged or expired. */
export async function readSessionToken(token: string | undefined, secret: Uint8Array): Promise<string | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] });
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

/** The session cookie's value in a `Cookie` header. */
export function sessionCookieFrom(header: string | null): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === SESSION_COOKIE) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return undefined;
}
