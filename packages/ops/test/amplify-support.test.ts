// The versions amplify.yml deploys must be ones Amplify Hosting runs. AWS documents them on:
// - "Amplify support for Next.js" (https://docs.aws.amazon.com/amplify/latest/userguide/ssr-amplify-support.html):
//   Amplify Hosting compute fully manages SSR for apps built with Next.js 12 through 15;
// - "SSR supported features" (https://docs.aws.amazon.com/amplify/latest/userguide/ssr-supported-features.html):
//   the SSR runtime follows the Node.js major of the build; supported runtimes are Node.js 20, 22 and 24.
// Re-read both pages before widening these ranges. Node.js end-of-life dates: https://nodejs.org/en/about/previous-releases
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const AMPLIFY_NEXT_MAJORS = { min: 12, max: 15 };
const AMPLIFY_NODE_MAJORS = [20, 22, 24];
/** Last day of maintenance of each Node.js line Amplify runs: deploying one past it is a finding. */
const NODE_END_OF_LIFE: Record<number, string> = { 20: '2026-04-30', 22: '2027-04-30', 24: '2028-04-30' };

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const spec = parse(fs.readFileSync(path.join(root, 'amplify.yml'), 'utf8')) as {
  applications: { appRoot: string; frontend: { phases: { preBuild: { commands: string[] }; build: { commands: string[] } } } }[];
};
const workspace = parse(fs.readFileSync(path.join(root, 'pnpm-workspace.yaml'), 'utf8')) as { catalog: Record<string, string> };
const major = (version: string) => Number(/(\d+)\./.exec(version)?.[1]);

describe('amplify.yml deploys versions Amplify Hosting supports', () => {
  it('the catalog declares a Next.js major Amplify Hosting compute supports', () => {
    const declared = major(workspace.catalog.next!);
    expect(declared).toBeGreaterThanOrEqual(AMPLIFY_NEXT_MAJORS.min);
    expect(declared).toBeLessThanOrEqual(AMPLIFY_NEXT_MAJORS.max);
  });

  for (const app of spec.applications) {
    describe(app.appRoot, () => {
      const manifest = JSON.parse(fs.readFileSync(path.join(root, app.appRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

      it('uses the catalog Next.js, and the one installed for it is in the supported range', () => {
        expect(manifest.dependencies.next).toBe('catalog:');
        const installed = createRequire(path.join(root, app.appRoot, 'package.json'))('next/package.json') as { version: string };
        expect(installed.version).toBe(workspace.catalog.next);
        expect(major(installed.version)).toBeGreaterThanOrEqual(AMPLIFY_NEXT_MAJORS.min);
        expect(major(installed.version)).toBeLessThanOrEqual(AMPLIFY_NEXT_MAJORS.max);
      });

      it('builds, and so runs, on a supported Node.js line that is still maintained', () => {
        const commands = [...app.frontend.phases.preBuild.commands, ...app.frontend.phases.build.commands];
        const nvm = commands.filter((c) => /\bnvm (use|install)\b/.test(c));
        expect(nvm).toHaveLength(1);
        // every nvm invocation on the line names the same major
        const versions = [...nvm[0]!.matchAll(/\bnvm (?:use|install) (\S+)/g)].map((m) => m[1]!);
        expect(versions.length).toBeGreaterThan(0);
        for (const v of versions) expect(v).toMatch(/^\d+$/);
        const node = Number(versions[0]);
        expect(new Set(versions)).toEqual(new Set([versions[0]]));
        expect(AMPLIFY_NODE_MAJORS).toContain(node);
        expect(new Date().toISOString().slice(0, 10) <= NODE_END_OF_LIFE[node]!).toBe(true);
        // and nvm runs before anything that installs or builds
        expect(commands.indexOf(nvm[0]!)).toBe(0);
      });
    });
  }
});
