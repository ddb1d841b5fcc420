// What the global setups provide to tests through inject().
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A Redis that answers PING: REDIS_URL, 127.0.0.1:6379, or one started for the run. */
    redisUrl: string;
    /** Nodes of a 3-master Redis Cluster on loopback (empty with setup/redis). */
    clusterNodes: { host: string; port: number }[];
    /** Start every key this run writes with it: the run's keys are deleted when it ends. */
    testKeyPrefix: string;
  }
}
