import { withBase } from '@airl/vitest-config';

export default withBase({
  test: {
    globalSetup: ['@airl/vitest-config/setup/cluster'],
    // property and model tests run thousands of real round trips: on a loaded machine, minutes
    testTimeout: 300_000,
  },
});
