// Admin accounts: Argon2id hashes, ADMIN_USERS entries, the demo account, and the hash-password
// script's output, read back the way Next.js reads a .env file.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEMO_ADMIN, parseAdminUsers } from '~/server/accounts';
import { hashPassword, isPasswordHash, verifyPassword } from '~/server/passwords';

const APP_DIR = path.resolve(import.meta.dirname, '..');

/** The part of @next/env (a dependency of next, not of this app) the test uses. */
interface NextEnv {
  loadEnvConfig: (dir: string, dev: boolean, log: { info(): void; error(): void }) => { combinedEnv: Record<string, string | undefined> };
}

describe('passwords', () => {
  it('are argon2id hashes (OWASP parameters) that only the password verifies', async () => {
    const h = await hashPassword('correct horse battery staple');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(isPasswordHash(h)).toBe(true);
    expect(await hashPassword('correct horse battery staple')).not.toBe(h);
    expect(await verifyPassword(h, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(h, 'correct horse battery stapl')).toBe(false);
    expect(await verifyPassword(h, '')).toBe(false);
    expect(await verifyPassword(h, 'x'.repeat(2000))).toBe(false);
    expect(await verifyPassword('$argon2id$garbage', 'anything')).toBe(false);
  });

  it('the documented demo account is admin / demo-password', async () => {
    expect(await verifyPassword(DEMO_ADMIN.passwordHash, DEMO_ADMIN.password)).toBe(true);
  });

  it('ADMIN_USERS takes entries separated by spaces, new lines or ;', async () => {
    const h = await hashPassword('p4ssword-long-enough');
    const { accounts, problems } = parseAdminUsers(` alice:${h};bob:${h}\n\tcarol:${h} `);
    expect(problems).toEqual([]);
    expect(accounts.map((a) => a.name)).toEqual(['alice', 'bob', 'carol']);
    expect(accounts.every((a) => a.passwordHash === h && !a.demo)).toBe(true);
    expect(parseAdminUsers(undefined)).toEqual({ accounts: [], problems: [] });
  });
});

describe('pnpm --filter @airl/admin hash-password', () => {
  const run = (args: string[], input: string) =>
    spawnSync(path.join(APP_DIR, 'node_modules/.bin/tsx'), ['scripts/hash-password.ts', ...args], { cwd: APP_DIR, input, encoding: 'utf8', timeout: 60_000 });

  it('prints an entry that signs in, also once written to a .env file as it says', async () => {
    const result = run(['Alice'], 'a long enough password\n');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const [entry] = result.stdout.split('\n');
    const { accounts } = parseAdminUsers(entry);
    expect(accounts.map((a) => a.name)).toEqual(['alice']);
    expect(await verifyPassword(accounts[0]!.passwordHash, 'a long enough password')).toBe(true);

    // the .env line, loaded by Next.js's own loader (which expands unescaped $VARIABLES)
    const envLine = result.stdout.split('\n').find((l) => l.startsWith('#   ADMIN_USERS='))!.slice(4);
    expect(envLine).toContain('\\$argon2id');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'admin-env-'));
    try {
      // `.env`: under NODE_ENV=test Next.js skips .env.local
      fs.writeFileSync(path.join(dir, '.env'), `${envLine}\n`);
      const requireFromNext = createRequire(createRequire(import.meta.url).resolve('next/package.json'));
      const { loadEnvConfig } = requireFromNext('@next/env') as NextEnv;
      const loaded = loadEnvConfig(dir, true, { info: () => undefined, error: () => undefined }).combinedEnv.ADMIN_USERS;
      expect(loaded).toBe(entry);
    } finally {
      // the loader also wrote it into this process's environment
      delete process.env.ADMIN_USERS;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a short password and a bad name', () => {
    expect(run(['alice'], 'short\n')).toMatchObject({ status: 1, stderr: expect.stringMatching(/at least 12 characters/) as string });
    expect(run(['bad name!'], 'a long enough password\n')).toMatchObject({ status: 1, stderr: expect.stringMatching(/usage:/) as string });
  });
});
