// Types of what the global setups provide (`inject('redisUrl')`, `inject('clusterNodes')`).
/// <reference types="@airl/vitest-config/provided" />
