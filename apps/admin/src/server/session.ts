// The admin session: an HS256-signed token in an httpOnly, SameSite=Strict cookie that expires.
// It names the admin; the account must still be configured on every request, so removing a
// name from ADMIN_USERS ends its sessions at the next restart.
import { jwtVerify, SignJWT } from 'jose';

export const ADMIN_SESSION_COOKIE = 'airl_admin_session';

/** How long a session lasts, in seconds: a working day. */
export const SESSION_TTL_S = 8 * 3600;

// a token of the web app signed with the same secret is not an admin session
const AUDIENCE = 'airl-admin';

export interface AdminSession {
  readonly name: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export async function createSessionToken(name: string, secret: Uint8Array, ttlS = SESSION_TTL_S): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(name)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlS}s`)
    .sign(secret);
}

/** The session of a valid token; undefined when it is missing, forged, expired or not an admin's. */
export async function readSessionToken(token: string | undefined, secret: Uint8Array): Promise<AdminSession | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtVerify(token, secret, { algorithms: ['HS256'], audience: AUDIENCE });
    if (typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return undefined;
    return { name: payload.sub, expiresAt: payload.exp * 1000 };
  } catch {
    return undefined;
  }
}

/** The cookie's attributes: httpOnly, SameSite=Strict, Secure over HTTPS, gone after the session's lifetime. */
export function sessionCookieOptions(secure: boolean) {
  return { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: SESSION_TTL_S } as const;
}
