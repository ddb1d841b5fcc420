import { withBase } from '@airl/vitest-config';

export default withBase({
  test: {
    globalSetup: ['@airl/vitest-config/setup/cluster'],
  },
});
