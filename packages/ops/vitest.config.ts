import { withBase } from '@airl/vitest-config';

export default withBase({
  test: {
    // the local Redis and a real 3-master cluster on loopback; TLS servers start in the suites
    globalSetup: ['@airl/vitest-config/setup/cluster'],
  },
});
