// The engine as users run it: the package's build (dist/), not its sources through tsx, whose
// transform adds a helper call for each closure made (about 0.3 µs a check for the sliding log,
// measured with bench/engine-cpu.ts). `pnpm bench` builds first; before the other scripts here
// that load it (engine-cpu.ts, node-cpu.ts), run `pnpm build`.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The latest modification time of the files under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

const built = statSync(join(root, 'dist/redis.mjs'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (built < newest(join(root, 'src'))) throw new Error('bench: dist/ is missing or older than src/: run `pnpm --filter @airl/ratelimit build` first');

const index = (await import(join(root, 'dist/index.mjs'))) as typeof import('../src/index');
const redis = (await import(join(root, 'dist/redis.mjs'))) as typeof import('../src/redis');

export const { createRateLimiter } = index;
export const { createRedisStore } = redis;
