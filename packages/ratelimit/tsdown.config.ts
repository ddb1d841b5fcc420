import { defineConfig } from 'tsdown';

// What is published: one ESM file and one declaration file per entry point. Dependencies and
// peers stay imports (tsdown leaves everything in package.json out of the bundle).
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    redis: 'src/redis.ts',
    legacy: 'src/legacy.ts',
    trpc: 'src/trpc.ts',
    http: 'src/http.ts',
    admin: 'src/admin.ts',
    store: 'src/store.ts',
    lambda: 'src/lambda.ts',
    'lambda-handler': 'src/lambda-handler.ts',
  },
  format: 'esm',
  platform: 'node',
  target: 'node22',
  dts: true,
  sourcemap: false,
  clean: true,
  outDir: 'dist',
});
