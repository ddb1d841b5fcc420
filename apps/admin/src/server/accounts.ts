// Admin accounts come from the environment: `ADMIN_USERS` lists `name:<argon2id hash>` entries.
// Hashes contain `$` and `,`, so entries are separated by whitespace, new lines or `;`.
import { isPasswordHash } from './passwords';

export interface AdminAccount {
  /** The name admins sign in with, lower case; written to the audit log as the actor. */
  readonly name: string;
  /** Argon2id PHC string. */
  readonly passwordHash: string;
  /** The documented demo account (development and `npm start` only). */
  readonly demo: boolean;
}

/** The demo account of development and `npm start` (DEMO_ADMIN=true): never for production. */
export const DEMO_ADMIN = {
  name: 'admin',
  password: 'demo-password',
  // argon2id of 'demo-password' (test/accounts.test.ts checks it)
  passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$ZqCri15a5iK0bieI/76g5Q$gvztVRGpAvf2+4Ye1J4OT8f410yxCnD6O67qV1Dera4',
} as const;

const NAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;

/** How a typed user name is compared: trimmed, lower case. */
export const normalizeName = (name: string): string => name.trim().toLowerCase();

/**
 * Parses `ADMIN_USERS`. Problems name the entry by position and never echo a hash.
 * @example parseAdminUsers('alice:$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA; bob:$argon2id$...')
 */
export function parseAdminUsers(value: string | undefined): { accounts: AdminAccount[]; problems: string[] } {
  const accounts: AdminAccount[] = [];
  const problems: string[] = [];
  const entries = (value ?? '').split(/[\s;]+/).filter(Boolean);
  entries.forEach((entry, i) => {
    const at = `ADMIN_USERS entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon <= 0) {
      problems.push(`${at} must be name:<argon2id hash> (make one with: pnpm --filter @airl/admin hash-password <name>)`);
      return;
    }
    const name = entry.slice(0, colon);
    const passwordHash = entry.slice(colon + 1);
    if (!NAME.test(name)) {
      problems.push(`${at}: the name '${name.slice(0, 64)}' must be 1 to 64 lower-case letters, digits, '.', '_', '@' or '-'`);
      return;
    }
    if (!isPasswordHash(passwordHash)) {
      problems.push(
        `${at} (${name}): the hash is not an argon2id hash ($argon2id$v=19$...). In a .env file write each $ as \\$; ` +
          'make one with: pnpm --filter @airl/admin hash-password ' + name,
      );
      return;
    }
    if (accounts.some((a) => a.name === name)) {
      problems.push(`${at}: '${name}' is listed twice`);
      return;
    }
    accounts.push({ name, passwordHash, demo: false });
  });
  return { accounts, problems };
}
