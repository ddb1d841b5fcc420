// Shared vitest settings; a package's vitest.config.ts extends them in one line.
import { fileURLToPath } from 'node:url';

import { defineConfig, mergeConfig } from 'vitest/config';

/**
 * Base settings: real servers are slow to start, Playwright specs are not vitest's, and the apps'
 * server modules (which import `server-only`) load as the server code they are.
 */
export const base = defineConfig({
  resolve: { alias: [{ find: /^server-only$/, replacement: fileURLToPath(new URL('./server-only.js', import.meta.url)) }] },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'e2e/**', '**/.next/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

/**
 * Extends the base config.
 * @param {import('vitest/config').ViteUserConfig} config
 */
export function withBase(config = {}) {
  return mergeConfig(base, config);
}
