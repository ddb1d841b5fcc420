import { withBase } from '@airl/vitest-config';

export default withBase({
  resolve: { alias: { '~': new URL('./src', import.meta.url).pathname } },
  test: {
    // the built app on a free port, on a real Redis under a random prefix
    globalSetup: ['./test/setup/app.ts'],
    // the suites share one server: one file at a time keeps its load predictable on 2 cores
    fileParallelism: false,
  },
});
