// Inlines `--- @include "name"` lines of src/lua/*.lua and writes src/lua/scripts.generated.ts.
//   tsx scripts/build-lua.ts           write it
//   tsx scripts/build-lua.ts --check   fail if it is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { renderScripts } from '../src/lua/render';

const out = fileURLToPath(new URL('../src/lua/scripts.generated.ts', import.meta.url));
const fresh = renderScripts();
if (process.argv.includes('--check')) {
  if (readFileSync(out, 'utf8') !== fresh) {
    console.error('src/lua/scripts.generated.ts is stale: run `pnpm --filter @airl/ratelimit build:lua`');
    process.exit(1);
  }
} else {
  writeFileSync(out, fresh);
}
