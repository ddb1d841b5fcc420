// Types of what the global setups provide (`inject('redisUrl')`, `inject('clusterNodes')`).
import type {} from '@airl/vitest-config/setup/redis';
