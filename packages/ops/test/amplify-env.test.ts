// amplify.yml's env step (scripts/amplify-env.mjs), run verbatim as the spec writes it, in a copy
// of the repository layout so the real app folders never get a .env.production: it must pass
// every variable the server reads, only those set, exactly as Next.js will read them, and never
// print a value.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const spec = parse(fs.readFileSync(path.join(root, 'amplify.yml'), 'utf8')) as {
  applications: { appRoot: string; frontend: { buildPath: string; phases: { build: { commands: string[] } } } }[];
};

const sandboxes: string[] = [];
afterAll(() => {
  for (const dir of sandboxes) fs.rmSync(dir, { recursive: true, force: true });
});

/** The repository layout the command needs: the script, and the app's manifest, .env.example and installed packages. */
function sandbox(appRoot: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'airl-amplify-env-'));
  sandboxes.push(dir);
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(root, 'scripts/amplify-env.mjs'), path.join(dir, 'scripts/amplify-env.mjs'));
  const app = path.join(dir, appRoot);
  fs.mkdirSync(app, { recursive: true });
  for (const file of ['package.json', '.env.example']) fs.copyFileSync(path.join(root, appRoot, file), path.join(app, file));
  fs.symlinkSync(path.join(root, appRoot, 'node_modules'), path.join(app, 'node_modules'));
  return dir;
}

/** Runs a command through the shell, as Amplify does, with only these variables (and PATH). */
function run(command: string, cwd: string, vars: Record<string, string>) {
  const r = spawnSync(command, { cwd, shell: true, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...vars } });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The file as `next start` reads it: @next/env in a process that has none of the variables. */
function readAsNext(appDir: string): Record<string, string> {
  const reader = `
    import { createRequire } from 'node:module';
    const next = createRequire(process.cwd() + '/package.json').resolve('next/package.json');
    const { loadEnvConfig } = createRequire(next)('@next/env');
    process.stdout.write(JSON.stringify(loadEnvConfig(process.cwd(), false, { info() {}, error() {} }, true).parsedEnv ?? {}));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', reader], { cwd: appDir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Record<string, string>;
}

const documented = (appRoot: string) => [...fs.readFileSync(path.join(root, appRoot, '.env.example'), 'utf8').matchAll(/^#?[ \t]*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
const secret = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

/** Variables the server code reads: `env.NAME` and names given to env helpers as 'NAME'. */
function readByServer(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, file), 'utf8');
    for (const m of text.matchAll(/env\.([A-Z][A-Z0-9_]+)|env,\s*'([A-Z][A-Z0-9_]+)'/g)) names.add((m[1] ?? m[2])!);
  }
  for (const platform of ['NODE_ENV', 'NEXT_RUNTIME']) names.delete(platform);
  return names;
}

const SERVER_CODE: Record<string, string[]> = {
  'apps/web': ['apps/web/src/server/config.ts', 'packages/creators/src/config.ts', 'packages/creators/src/limiters.ts', 'packages/ratelimit/src/redis.ts'],
  'apps/admin': ['apps/admin/src/server/config.ts', 'packages/creators/src/config.ts', 'packages/creators/src/limiters.ts', 'packages/ratelimit/src/redis.ts'],
};

for (const app of spec.applications) {
  const command = app.frontend.phases.build.commands.find((c) => c.startsWith('node scripts/amplify-env.mjs'));

  describe(`${app.appRoot}: amplify.yml's env step`, () => {
    it('runs before the build, for this app root', () => {
      expect(command).toBe(`node scripts/amplify-env.mjs ${app.appRoot}`);
      expect(app.frontend.phases.build.commands.indexOf(command!)).toBe(0);
    });

    it('.env.example documents every variable the server code reads, so the step passes it on', () => {
      const names = readByServer(SERVER_CODE[app.appRoot]!);
      expect(names.size).toBeGreaterThan(10);
      expect(names.has('REDIS_URL') && names.has('SESSION_SECRET')).toBe(true);
      expect([...names].filter((n) => !documented(app.appRoot).includes(n))).toEqual([]);
    });

    it('writes the set variables, only those, as Next.js will read them, printing names but no value', () => {
      const dir = sandbox(app.appRoot);
      const set: Record<string, string> = {
        REDIS_URL: `rediss://default:${secret('pw$x')}@cache.example.internal:6379`,
        REDIS_CLUSTER: 'true',
        SESSION_SECRET: secret('session$secret$with$dollars'),
        RATE_LIMIT_PREFIX: 'ratelimit',
        ...(app.appRoot === 'apps/web'
          ? { TEST_REDIS_TOKEN: secret('token'), AI_API_KEY: secret('sk'), AI_BASE_URL: 'https://api.example.com/v1', AI_MODEL: 'model-x' }
          : { ADMIN_USERS: `alice:$argon2id$v=19$m=19456,t=2,p=1$${secret('salt')}$${secret('hash')}\nbob:$argon2id$v=19$m=19456,t=2,p=1$${secret('s')}$${secret('h')}`, TRUSTED_PROXY_COUNT: '1' }),
      };
      const notForTheServer = { AWS_SECRET_ACCESS_KEY: secret('aws'), REDIS_TLS: '', NEXT_PUBLIC_X: secret('public') };
      const { status, output } = run(command!, path.join(dir, app.frontend.buildPath), { ...set, ...notForTheServer });
      expect(status).toBe(0);

      const file = path.join(dir, app.appRoot, '.env.production');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(readAsNext(path.join(dir, app.appRoot))).toEqual(set);
      const text = fs.readFileSync(file, 'utf8');
      expect(text.split('\n').filter(Boolean).map((l) => l.split('=')[0]).sort()).toEqual(Object.keys(set).sort());

      for (const name of Object.keys(set)) expect(output).toContain(name);
      for (const value of [...Object.values(set), ...Object.values(notForTheServer)].filter((v) => v.length > 4)) {
        expect(output).not.toContain(value);
        // no fragment of a secret either (a value split at a $ or a new line)
        for (const part of value.split(/[$\n:@]/).filter((p) => p.length > 12)) expect(output).not.toContain(part);
      }
    });

    it('with nothing set, writes an empty file (the app then runs on its defaults)', () => {
      const dir = sandbox(app.appRoot);
      const { status, output } = run(command!, path.join(dir, app.frontend.buildPath), {});
      expect(status).toBe(0);
      expect(output).toMatch(/0 of \d+ documented variables set/);
      expect(fs.readFileSync(path.join(dir, app.appRoot, '.env.production'), 'utf8')).toBe('');
    });

    it('fails the build, naming the variable and not its value, when a value would not survive the file', () => {
      const dir = sandbox(app.appRoot);
      // dotenv turns a written \n into a new line: this value would arrive changed
      const value = `${secret('abc')}\\n${secret('def')}`;
      const { status, output } = run(command!, path.join(dir, app.frontend.buildPath), { SESSION_SECRET: value });
      expect(status).toBe(1);
      expect(output).toContain('SESSION_SECRET');
      expect(output).not.toContain(value.slice(0, 20));
      expect(fs.existsSync(path.join(dir, app.appRoot, '.env.production'))).toBe(false);
    });
  });
}
