// amplify.yml at the repository root: its commands must be ones this repository supports, so the
// Amplify build and a local build run the same thing.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface Phase {
  commands: string[];
}
interface AmplifyApp {
  appRoot: string;
  env?: { variables?: Record<string, string> };
  frontend: {
    buildPath: string;
    phases: { preBuild: Phase; build: Phase };
    artifacts: { baseDirectory: string; files: string[] };
    cache?: { paths: string[] };
  };
}

const spec = parse(read('amplify.yml')) as { version: number; applications: AmplifyApp[] };
const rootPackage = JSON.parse(read('package.json')) as { packageManager: string; scripts: Record<string, string>; devDependencies: Record<string, string> };
const turbo = JSON.parse(read('turbo.json')) as { tasks: Record<string, { outputs?: string[] }> };
const workspace = parse(read('pnpm-workspace.yaml')) as { packages: string[]; pmOnFail?: string };

/** Package names of the workspace, by folder. */
function workspacePackages(): Map<string, string> {
  const found = new Map<string, string>();
  for (const pattern of workspace.packages) {
    const base = pattern.replace(/\/\*$/, '');
    const dir = path.join(root, base);
    if (!fs.existsSync(dir)) continue;
    for (const entry of fs.readdirSync(dir)) {
      const manifest = path.join(dir, entry, 'package.json');
      if (fs.existsSync(manifest)) found.set(`${base}/${entry}`, (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name: string }).name);
    }
  }
  return found;
}

describe('amplify.yml', () => {
  const pnpmVersion = rootPackage.packageManager.replace(/^pnpm@/, '');

  it('declares the two Next.js apps of the monorepo', () => {
    expect(spec.version).toBe(1);
    expect(spec.applications.map((a) => a.appRoot)).toEqual(['apps/web', 'apps/admin']);
    // appRoot must be a workspace folder, so pnpm installs and links it
    for (const app of spec.applications) {
      expect(workspace.packages.some((p) => p === app.appRoot || (p.endsWith('/*') && path.dirname(app.appRoot) === p.slice(0, -2)))).toBe(true);
    }
  });

  for (const app of spec.applications) {
    describe(app.appRoot, () => {
      const { preBuild, build } = app.frontend.phases;
      const all = [...preBuild.commands, ...build.commands];
      const expectedName = `@airl/${path.basename(app.appRoot)}`;

      it('builds from the repository root with the pnpm the repository pins', () => {
        expect(app.frontend.buildPath).toBe('/');
        expect(preBuild.commands).toContain(`npm i -g pnpm@${pnpmVersion}`);
        // --frozen-lockfile with packageManager needs pmOnFail: ignore on this registry (TOOLCHAIN.md)
        expect(preBuild.commands).toContain('pnpm install --frozen-lockfile');
        expect(workspace.pmOnFail).toBe('ignore');
        expect(preBuild.commands.indexOf(`npm i -g pnpm@${pnpmVersion}`)).toBeLessThan(preBuild.commands.indexOf('pnpm install --frozen-lockfile'));
      });

      it('runs only pnpm commands the root supports: install, turbo tasks of turbo.json, root scripts', () => {
        expect(rootPackage.devDependencies.turbo).toBeDefined();
        for (const command of all.filter((c) => c.startsWith('pnpm '))) {
          const [, verb, ...rest] = command.split(/\s+/);
          if (verb === 'install') continue;
          if (verb === 'turbo') {
            expect(rest[0]).toBe('run');
            const tasks = rest.slice(1).filter((a) => !a.startsWith('--'));
            expect(tasks.length).toBeGreaterThan(0);
            for (const task of tasks) expect(Object.keys(turbo.tasks)).toContain(task);
            continue;
          }
          expect(Object.keys(rootPackage.scripts)).toContain(verb);
        }
      });

      it('writes the server variables into the app root\'s .env.production, then builds exactly this app (and what it depends on)', () => {
        expect(build.commands).toEqual([`node scripts/amplify-env.mjs ${app.appRoot}`, `pnpm turbo run build --filter=${expectedName}`]);
        expect(fs.existsSync(path.join(root, 'scripts/amplify-env.mjs'))).toBe(true);
        const actual = workspacePackages().get(app.appRoot);
        // the app may not exist on this branch yet; once it does, its name must be the filter
        if (actual !== undefined) expect(actual).toBe(expectedName);
        else expect(expectedName).toMatch(/^@airl\/(web|admin)$/);
      });

      it('publishes the Next.js output, which turbo also treats as the build output', () => {
        expect(app.frontend.artifacts).toEqual({ baseDirectory: `${app.appRoot}/.next`, files: ['**/*'] });
        expect(turbo.tasks.build?.outputs).toContain('.next/**');
        expect(app.env?.variables).toMatchObject({ TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1' });
      });
    });
  }
});

describe('docs/aws-deployment.md, section 6', () => {
  it('shows the commands amplify.yml runs for apps/web, in order', () => {
    const doc = read('docs/aws-deployment.md');
    const block = /## 6\. Amplify build[\s\S]*?```sh\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    // each line without its trailing `# comment`
    const shown = block!
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean);
    const web = spec.applications.find((a) => a.appRoot === 'apps/web')!.frontend.phases;
    expect(shown).toEqual([...web.preBuild.commands, ...web.build.commands]);
  });
});
