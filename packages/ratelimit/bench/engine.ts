// The engine as users run it: the package's build (dist/), not its sources through tsx, whose
// transform adds a helper call for each closure made (about 0.3 µs a check for the sliding log,
// measured with bench/engine-cpu.ts). `pnpm bench` builds first; before the other scripts here
// that load it (engine-cpu.ts, node-cpu.ts), run `pnpm build`. Under vitest (test/bench.test.ts
// checks the harness, not the figures) it is the sources, so the tests need no build.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type * as SourceIndex from '../src/index';
import type * as SourceStore from '../src/redis';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The latest modification time of the files under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

type Index = typeof SourceIndex;
type Store = typeof SourceStore;

async function built(): Promise<{ index: Index; redis: Store }> {
  const at = statSync(join(root, 'dist/redis.mjs'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (at < newest(join(root, 'src'))) throw new Error('bench: dist/ is missing or older than src/: run `pnpm --filter @airl/ratelimit build` first');
  const load = (file: string) => import(pathToFileURL(join(root, 'dist', file)).href);
  // the build's declarations are these sources' (tsdown): the same API
  return { index: (await load('index.mjs')) as Index, redis: (await load('redis.mjs')) as Store };
}

const engine = process.env.VITEST ? { index: await import('../src/index'), redis: await import('../src/redis') } : await built();

export const { createRateLimiter } = engine.index;
export const { createRedisStore } = engine.redis;
