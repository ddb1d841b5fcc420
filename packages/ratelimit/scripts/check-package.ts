// Checks what would be published, not the workspace view: packs the tarball, then
//   publint --strict                        package.json agrees with the files it ships
//   attw --profile esm-only                 types resolve under TypeScript's node16/nodenext and bundler
// and that the tarball carries the repository's LICENSE. Part of `lint`.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

import { packageDir, packTarball } from './pack';

const tarball = packTarball();
let failed = false;
const run = (cmd: string, args: string[]) => {
  const r = spawnSync('pnpm', ['exec', cmd, ...args], { cwd: packageDir, stdio: 'inherit' });
  if (r.status !== 0) failed = true;
};
try {
  run('publint', ['run', tarball, '--strict']);
  run('attw', [tarball, '--profile', 'esm-only', '--format', 'table-flipped', '--no-emoji', '--no-color']);
  const list = spawnSync('tar', ['-xOzf', tarball, 'package/LICENSE'], { encoding: 'utf8' });
  if (list.stdout !== readFileSync(path.join(packageDir, '../../LICENSE'), 'utf8')) {
    console.error('The packed LICENSE differs from the repository LICENSE: copy LICENSE to packages/ratelimit/LICENSE.');
    failed = true;
  }
} finally {
  rmSync(path.dirname(tarball), { recursive: true, force: true });
}
if (failed) process.exit(1);
