// Builds the CDK app from context (`cdk synth -c key=value` or cdk.json), so one stack definition
// serves every environment and synthesis needs neither credentials nor lookups.
import type { App, Environment } from 'aws-cdk-lib';

import { RateLimitCacheStack, type RateLimitCacheStackProps } from './cache-stack';

/** Reads a context value as a string; undefined when absent or empty. */
function text(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`context ${key} must be a string, number or boolean`);
}

const list = (value: string | undefined) => value?.split(',').map((s) => s.trim()).filter(Boolean);

function whole(app: App, key: string): number | undefined {
  const value = text(app, key);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new Error(`context ${key}='${value}' must be a whole number`);
  return n;
}

function flag(app: App, key: string): boolean | undefined {
  const value = text(app, key);
  if (value === undefined) return undefined;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new Error(`context ${key}='${value}' must be true or false`);
}

/**
 * The stack props from context keys: `account`, `region` (both, or neither for an env-agnostic
 * template), `vpcId` + `subnetIds` + `availabilityZones` (comma-separated), `appSecurityGroupId`,
 * `replicationGroupId`, `nodeType`, `engine` (redis or valkey), `engineVersion`, `replicasPerShard`, `multiAz`, `shards`,
 * `maxConnections`, `alarmEmail`, `degradedSharePercent`, `snapshotRetentionDays`; the limiter function
 * with `limiterFunction=true` (or any of `ssrComputeRoleArn`, comma-separated, `limiterFunctionName`,
 * `limiterReservedConcurrency`, `limiterSecretsEndpoint`).
 */
export function propsFromContext(app: App): RateLimitCacheStackProps {
  const account = text(app, 'account');
  const region = text(app, 'region');
  if (!account !== !region) throw new Error('context: give both account and region, or neither');
  const env: Environment | undefined = account && region ? { account, region } : undefined;
  const vpcId = text(app, 'vpcId');
  const subnetIds = list(text(app, 'subnetIds'));
  const availabilityZones = list(text(app, 'availabilityZones'));
  if (vpcId && !(subnetIds?.length && availabilityZones?.length)) throw new Error('context vpcId needs subnetIds and availabilityZones');
  return {
    env,
    network: vpcId ? { vpcId, subnetIds: subnetIds ?? [], availabilityZones: availabilityZones ?? [] } : undefined,
    appSecurityGroupId: text(app, 'appSecurityGroupId'),
    replicationGroupId: text(app, 'replicationGroupId'),
    nodeType: text(app, 'nodeType'),
    engine: text(app, 'engine') as RateLimitCacheStackProps['engine'],
    engineVersion: text(app, 'engineVersion'),
    replicasPerShard: whole(app, 'replicasPerShard'),
    multiAz: flag(app, 'multiAz'),
    shards: whole(app, 'shards'),
    maxConnections: whole(app, 'maxConnections'),
    alarmEmail: text(app, 'alarmEmail'),
    degradedSharePercent: whole(app, 'degradedSharePercent'),
    snapshotRetentionDays: whole(app, 'snapshotRetentionDays'),
    limiterFunction: limiterFromContext(app),
    description: 'Rate limiter cache: ElastiCache with TLS and AUTH, alarms, SNS topic (@airl/infra)',
  };
}

function limiterFromContext(app: App): RateLimitCacheStackProps['limiterFunction'] {
  const invokerRoleArns = list(text(app, 'ssrComputeRoleArn'));
  const functionName = text(app, 'limiterFunctionName');
  const reservedConcurrency = whole(app, 'limiterReservedConcurrency');
  const secretsManagerEndpoint = flag(app, 'limiterSecretsEndpoint');
  const asked = flag(app, 'limiterFunction');
  if (asked === false || (asked === undefined && !invokerRoleArns && !functionName && reservedConcurrency === undefined && secretsManagerEndpoint === undefined)) return undefined;
  return { invokerRoleArns, functionName, reservedConcurrency, secretsManagerEndpoint };
}

/** Adds the stack to `app` and returns it. */
export function buildApp(app: App, stackName = text(app, 'stackName') ?? 'AirlRateLimitCache'): RateLimitCacheStack {
  return new RateLimitCacheStack(app, stackName, propsFromContext(app));
}
