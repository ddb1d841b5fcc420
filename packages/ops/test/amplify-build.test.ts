// The Amplify build, run here as Amplify runs it: each app's build phase from amplify.yml,
// verbatim, from the repository root (its preBuild only installs pnpm and the dependencies,
// which this run already has). Runs after the apps' own tests (see turbo.json), never beside them.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const spec = parse(fs.readFileSync(path.join(root, 'amplify.yml'), 'utf8')) as {
  applications: { appRoot: string; frontend: { buildPath: string; phases: { build: { commands: string[] } }; artifacts: { baseDirectory: string } } }[];
};

describe('amplify.yml builds every app locally', () => {
  for (const app of spec.applications) {
    it(`${app.appRoot}: the build phase's commands produce the artifacts Amplify deploys`, { timeout: 600_000 }, () => {
      const started = Date.now();
      const cwd = path.join(root, app.frontend.buildPath);
      for (const command of app.frontend.phases.build.commands) {
        execSync(command, { cwd, stdio: 'pipe', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' } });
      }
      const buildId = path.join(root, app.frontend.artifacts.baseDirectory, 'BUILD_ID');
      expect(fs.existsSync(buildId)).toBe(true);
      // written by these commands now (a replay from turbo's cache writes the files again too)
      expect(fs.statSync(buildId).mtimeMs).toBeGreaterThanOrEqual(started - 1000);
    });
  }
});
