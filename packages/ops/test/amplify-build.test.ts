// The Amplify build, run here as Amplify runs it: each app's build phase from amplify.yml,
// verbatim, from the repository root (its preBuild only installs pnpm and the dependencies,
// which this run already has). Runs after the apps' own tests (see turbo.json), never beside them:
// its env step writes the app's .env.production, which this test removes again.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const spec = parse(fs.readFileSync(path.join(root, 'amplify.yml'), 'utf8')) as {
  applications: { appRoot: string; frontend: { buildPath: string; phases: { build: { commands: string[] } }; artifacts: { baseDirectory: string } } }[];
};

/** A few of the variables an Amplify console would hold, with values that must never be printed. */
const consoleVariables = (appRoot: string): Record<string, string> => ({
  SESSION_SECRET: `session-${randomBytes(24).toString('hex')}`,
  RATE_LIMIT_PREFIX: `amplify-${randomBytes(4).toString('hex')}`,
  ...(appRoot === 'apps/web' ? { TEST_REDIS_TOKEN: `token-${randomBytes(16).toString('hex')}` } : { DEMO_ADMIN: 'true' }),
});

describe('amplify.yml builds every app locally', () => {
  for (const app of spec.applications) {
    it(`${app.appRoot}: the build phase's commands produce the artifacts Amplify deploys, and the server variables, unprinted`, { timeout: 600_000 }, () => {
      const started = Date.now();
      const cwd = path.join(root, app.frontend.buildPath);
      const envFile = path.join(root, app.appRoot, '.env.production');
      expect(fs.existsSync(envFile), `${envFile} exists: move it away first (this test writes the file and removes it)`).toBe(false);
      const vars = consoleVariables(app.appRoot);
      // an earlier build's BUILD_ID goes first: a turbo cache hit leaves outputs already on disk
      // untouched (seen on a re-run), so only a missing file proves these commands produced it
      const buildId = path.join(root, app.frontend.artifacts.baseDirectory, 'BUILD_ID');
      fs.rmSync(buildId, { force: true });
      let output = '';
      try {
        for (const command of app.frontend.phases.build.commands) {
          const r = spawnSync(command, { cwd, shell: true, encoding: 'utf8', env: { ...process.env, ...vars, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' } });
          output += `${r.stdout}${r.stderr}`;
          expect(r.status, `${command} failed`).toBe(0);
        }
        const written = fs.readFileSync(envFile, 'utf8');
        for (const [name, value] of Object.entries(vars)) expect(written).toContain(`${name}="${value}"`);
        for (const value of Object.values(vars).filter((v) => v.length > 8)) expect(output).not.toContain(value);
      } finally {
        fs.rmSync(envFile, { force: true });
      }
      expect(fs.existsSync(buildId)).toBe(true);
      // written by these commands now (built, or restored from turbo's cache)
      expect(fs.statSync(buildId).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    });
  }
});
