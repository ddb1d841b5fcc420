import { withBase } from '@airl/vitest-config';

export default withBase({
  resolve: { alias: { '~': new URL('./src', import.meta.url).pathname } },
  test: {
    // the server logic against a real Redis and a real 3-master cluster, under the run's key prefix
    globalSetup: ['@airl/vitest-config/setup/cluster'],
    testTimeout: 60_000,
  },
});
