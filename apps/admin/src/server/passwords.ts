// Admin passwords are stored as Argon2id hashes (PHC strings) made by @node-rs/argon2: the
// algorithm OWASP recommends first, prebuilt for each platform (no install script, no node-gyp).
import { randomBytes } from 'node:crypto';

import { hash, verify } from '@node-rs/argon2';

/**
 * OWASP's minimum for Argon2id: 19 MiB of memory, 2 passes, 1 lane (about 30-60 ms here).
 * The algorithm is the library's default, Argon2id (its `Algorithm` is a const enum, which
 * isolated modules cannot import); tests check the `$argon2id$` prefix.
 */
export const HASH_OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longer passwords are refused before hashing: a megabyte password must not cost a megabyte of work. */
export const MAX_PASSWORD_LENGTH = 1024;

/** An Argon2id PHC string: `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. */
const PHC = /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

export const isPasswordHash = (value: string): boolean => PHC.test(value);

/** Hashes a password for `ADMIN_USERS`. */
export function hashPassword(password: string): Promise<string> {
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) throw new Error(`a password must be 1 to ${MAX_PASSWORD_LENGTH} characters`);
  return hash(password, HASH_OPTIONS);
}

/** Whether `password` matches `passwordHash`; false (never a throw) for a malformed hash or password. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let decoy: Promise<string> | undefined;

/**
 * A hash no password matches, verified for unknown user names so that a wrong name takes as long
 * as a wrong password: response times do not tell which names exist.
 */
export function decoyHash(): Promise<string> {
  decoy ??= hash(randomBytes(32).toString('base64'), HASH_OPTIONS);
  return decoy;
}
