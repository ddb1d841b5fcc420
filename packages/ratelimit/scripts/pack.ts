// Packs @airl/ratelimit as it would be published (pnpm applies `publishConfig` and turns
// `catalog:` into versions; `prepack` builds dist/) and returns the tarball's path.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));

export function packTarball(dest = mkdtempSync(path.join(tmpdir(), 'airl-pack-'))): string {
  const result = spawnSync('pnpm', ['pack', '--pack-destination', dest], { cwd: packageDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`pnpm pack failed (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  const tarball = readdirSync(dest).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack wrote no .tgz into ${dest}`);
  return path.join(dest, tarball);
}
