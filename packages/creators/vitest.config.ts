import { withBase } from '@airl/vitest-config';

export default withBase({
  test: {
    // limiters on the Redis on 127.0.0.1:6379 (or REDIS_URL), under a random key prefix per test,
    // and a local 3-master cluster (or REDIS_CLUSTER_NODES) for cluster-mode detection
    globalSetup: ['@airl/vitest-config/setup/cluster'],
  },
});
