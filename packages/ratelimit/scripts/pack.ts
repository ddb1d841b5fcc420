// Packs @airl/ratelimit as it would be published (pnpm applies `publishConfig` and turns
// `catalog:` into versions) and returns the tarball's path. It packs the dist/ that `build` made
// and never builds itself: under turbo, lint and test pack while other tasks may run, and a
// second tsdown emptying dist/ meanwhile would pack a half-built package. Turbo runs this
// package's build before its lint and test (turbo.json); a stale dist/ is an error.
//   tsx scripts/pack.ts --check-fresh   (prepack) fail if dist/ is older than what it is built from
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Throws unless dist/ was built after every file it is built from changed. */
export function assertFreshBuild(): void {
  const dist = path.join(packageDir, 'dist');
  const fix = 'run `pnpm --filter @airl/ratelimit build` first';
  if (!existsSync(dist)) throw new Error(`dist/ is missing: ${fix}`);
  const built = Math.min(...files(dist).map((f) => statSync(f).mtimeMs));
  const inputs = [...files(path.join(packageDir, 'src')), ...['package.json', 'tsdown.config.ts', 'tsconfig.json'].map((f) => path.join(packageDir, f))];
  const stale = inputs.filter((f) => statSync(f).mtimeMs > built);
  if (stale.length > 0) throw new Error(`dist/ is older than ${path.relative(packageDir, stale[0]!)}: ${fix}`);
}

export function packTarball(dest = mkdtempSync(path.join(tmpdir(), 'airl-pack-'))): string {
  assertFreshBuild();
  const result = spawnSync('pnpm', ['pack', '--pack-destination', dest], { cwd: packageDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`pnpm pack failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  const tarball = readdirSync(dest).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack wrote no .tgz into ${dest}`);
  return path.join(dest, tarball);
}

if (process.argv.includes('--check-fresh')) {
  try {
    assertFreshBuild();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
