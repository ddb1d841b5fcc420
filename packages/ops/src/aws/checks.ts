// Checks of an ElastiCache replication group and its network, through the AWS SDK v3 (read-only
// Describe* calls). They replace the seed's security-group and setup shell scripts.
import { DescribeSecurityGroupsCommand, type EC2Client, type IpPermission } from '@aws-sdk/client-ec2';
import {
  type CacheCluster,
  DescribeCacheClustersCommand,
  DescribeCacheParametersCommand,
  DescribeReplicationGroupsCommand,
  type ElastiCacheClient,
  type ReplicationGroup,
} from '@aws-sdk/client-elasticache';

import { type CheckResult, worstLevel } from '../checks';
import { compareVersions } from '../versions';

export interface AwsCheckOptions {
  /** The replication group that holds the limiter's keys. */
  replicationGroupId: string;
  /** Security group of the app's compute: the only source that may reach the cache's port. */
  appSecurityGroupId: string;
  /**
   * Lowest engine version accepted (ioredis 6 needs Redis >= 6.2; 7.0 brings `CLUSTER SHARDS` and
   * ACL v2).
   * @default '7.0'
   */
  minEngineVersion?: string;
  /** An ElastiCache client for the cache's region and account. */
  elastiCache: ElastiCacheClient;
  /** An EC2 client for the same region and account. */
  ec2: EC2Client;
}

export interface AwsCheckReport {
  readonly status: CheckResult['level'];
  readonly replicationGroupId: string;
  readonly checks: readonly CheckResult[];
}

const errorName = (error: unknown) => (error as { name?: string } | undefined)?.name ?? '';
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Whether a rule lets TCP traffic to `port` in. */
function coversPort(rule: IpPermission, port: number): boolean {
  if (rule.IpProtocol === '-1') return true;
  if (rule.IpProtocol !== 'tcp' && rule.IpProtocol !== '6') return false;
  return (rule.FromPort ?? 0) <= port && port <= (rule.ToPort ?? 65535);
}

/** Every source a rule admits, named for a person. */
function sources(rule: IpPermission): { group: string | undefined; label: string }[] {
  return [
    ...(rule.UserIdGroupPairs ?? []).map((p) => ({ group: p.GroupId, label: `security group ${p.GroupId ?? '?'}` })),
    ...(rule.IpRanges ?? []).map((r) => ({ group: undefined, label: `CIDR ${r.CidrIp ?? '?'}` })),
    ...(rule.Ipv6Ranges ?? []).map((r) => ({ group: undefined, label: `CIDR ${r.CidrIpv6 ?? '?'}` })),
    ...(rule.PrefixListIds ?? []).map((p) => ({ group: undefined, label: `prefix list ${p.PrefixListId ?? '?'}` })),
  ];
}

/** The port clients connect to. */
function portOf(group: ReplicationGroup): number {
  return group.ConfigurationEndpoint?.Port ?? group.NodeGroups?.[0]?.PrimaryEndpoint?.Port ?? 6379;
}

function statusCheck(group: ReplicationGroup): CheckResult {
  const status = group.Status ?? 'unknown';
  if (status === 'available') return { id: 'status', level: 'ok', message: 'replication group is available' };
  if (['creating', 'modifying', 'snapshotting'].includes(status)) {
    return { id: 'status', level: 'warn', message: `replication group is ${status}`, hint: 'wait until it is available, then check again.' };
  }
  return { id: 'status', level: 'fail', message: `replication group is ${status}`, hint: 'see docs/runbooks/incident-response.md.' };
}

function engineCheck(clusters: readonly CacheCluster[], min: string): CheckResult {
  const versions = [...new Set(clusters.map((c) => c.EngineVersion ?? '0'))];
  const engine = [...new Set(clusters.map((c) => c.Engine ?? 'redis'))].join(', ');
  const oldest = versions.reduce((a, b) => (compareVersions(a, b) <= 0 ? a : b), versions[0] ?? '0');
  if (!versions.length) return { id: 'engine-version', level: 'fail', message: 'no member clusters found' };
  return compareVersions(oldest, min) < 0
    ? { id: 'engine-version', level: 'fail', message: `${engine} ${oldest} is older than ${min}`, hint: 'upgrade the engine version (docs/runbooks/scaling.md covers in-place changes).' }
    : { id: 'engine-version', level: 'ok', message: `${engine} ${versions.join(', ')}` };
}

function transitCheck(group: ReplicationGroup): CheckResult {
  if (!group.TransitEncryptionEnabled) {
    return { id: 'encryption-in-transit', level: 'fail', message: 'in-transit encryption is off: the AUTH token and limiter traffic travel in clear', hint: 'enable TransitEncryptionEnabled (packages/infra does) and connect with rediss://.' };
  }
  if (group.TransitEncryptionMode === 'preferred') {
    return { id: 'encryption-in-transit', level: 'warn', message: 'in-transit encryption is on but mode is preferred: plain-text connections are still accepted', hint: 'once every client uses TLS, set TransitEncryptionMode to required.' };
  }
  return { id: 'encryption-in-transit', level: 'ok', message: 'in-transit encryption is required' };
}

function atRestCheck(group: ReplicationGroup): CheckResult {
  return group.AtRestEncryptionEnabled
    ? { id: 'encryption-at-rest', level: 'ok', message: 'at-rest encryption is on' }
    : { id: 'encryption-at-rest', level: 'fail', message: 'at-rest encryption is off', hint: 'it can only be set at creation: create an encrypted group and move to it (docs/runbooks/backup-restore.md).' };
}

function authCheck(group: ReplicationGroup): CheckResult {
  if (group.AuthTokenEnabled) return { id: 'auth', level: 'ok', message: 'AUTH token required' };
  if (group.UserGroupIds?.length) return { id: 'auth', level: 'ok', message: `RBAC user groups: ${group.UserGroupIds.join(', ')}` };
  return { id: 'auth', level: 'warn', message: 'no AUTH token and no user group: anyone who reaches the port can read and reset limits', hint: 'set an AUTH token from Secrets Manager (packages/infra does).' };
}

async function evictionCheck(client: ElastiCacheClient, clusters: readonly CacheCluster[]): Promise<CheckResult> {
  const name = clusters[0]?.CacheParameterGroup?.CacheParameterGroupName;
  if (!name) return { id: 'eviction-policy', level: 'warn', message: 'parameter group unknown' };
  let marker: string | undefined;
  do {
    const page = await client.send(new DescribeCacheParametersCommand({ CacheParameterGroupName: name, Marker: marker }));
    const found = page.Parameters?.find((p) => p.ParameterName === 'maxmemory-policy');
    if (found) {
      return found.ParameterValue === 'noeviction'
        ? { id: 'eviction-policy', level: 'ok', message: `${name}: maxmemory-policy noeviction` }
        : {
            id: 'eviction-policy',
            level: 'warn',
            message: `${name}: maxmemory-policy ${found.ParameterValue ?? '?'} may evict limiter keys (they all have TTLs), resetting windows`,
            hint: 'use a custom parameter group with maxmemory-policy noeviction (packages/infra creates one).',
          };
    }
    marker = page.Marker;
  } while (marker);
  return { id: 'eviction-policy', level: 'warn', message: `${name}: no maxmemory-policy parameter found` };
}

async function securityGroupCheck(ec2: EC2Client, groupIds: readonly string[], appGroup: string, port: number): Promise<CheckResult> {
  const id = 'security-group';
  if (!groupIds.length) return { id, level: 'fail', message: 'the cache has no VPC security group' };
  const { SecurityGroups: groups = [] } = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [...groupIds] }));
  const strangers: string[] = [];
  let appAdmitted = false;
  for (const group of groups) {
    for (const rule of group.IpPermissions ?? []) {
      if (!coversPort(rule, port)) continue;
      for (const source of sources(rule)) {
        if (source.group === appGroup) appAdmitted = true;
        else strangers.push(`${source.label} (in ${group.GroupId ?? '?'})`);
      }
    }
  }
  if (strangers.length) {
    return {
      id,
      level: 'fail',
      message: `port ${port} is open to more than the app: ${[...new Set(strangers)].join(', ')}`,
      hint: `remove those rules; admit only ${appGroup} on ${port}.`,
    };
  }
  if (!appAdmitted) {
    return { id, level: 'fail', message: `the app's group ${appGroup} is not admitted on port ${port}: the app cannot connect`, hint: `add an inbound rule: TCP ${port} from ${appGroup}.` };
  }
  return { id, level: 'ok', message: `port ${port} admits only ${appGroup} (${groupIds.join(', ')})` };
}

/** Runs every check; never throws (an API error becomes a failed check). */
export async function runAwsChecks(options: AwsCheckOptions): Promise<AwsCheckReport> {
  const checks: CheckResult[] = [];
  const report = (): AwsCheckReport => ({ status: worstLevel(checks), replicationGroupId: options.replicationGroupId, checks });
  let group: ReplicationGroup | undefined;
  try {
    const out = await options.elastiCache.send(new DescribeReplicationGroupsCommand({ ReplicationGroupId: options.replicationGroupId }));
    group = out.ReplicationGroups?.[0];
  } catch (error) {
    const notFound = errorName(error) === 'ReplicationGroupNotFoundFault';
    checks.push({
      id: 'status',
      level: 'fail',
      message: notFound ? `replication group ${options.replicationGroupId} does not exist in this account and region` : `DescribeReplicationGroups failed: ${errorText(error)}`,
      hint: notFound ? 'check the id, AWS_REGION and the account of the credentials.' : 'the credentials need elasticache:Describe* and ec2:DescribeSecurityGroups.',
    });
    return report();
  }
  if (!group) {
    checks.push({ id: 'status', level: 'fail', message: `replication group ${options.replicationGroupId} not found` });
    return report();
  }
  checks.push(statusCheck(group), transitCheck(group), atRestCheck(group), authCheck(group));
  try {
    const clusters = await Promise.all(
      (group.MemberClusters ?? []).map(async (id) => {
        const out = await options.elastiCache.send(new DescribeCacheClustersCommand({ CacheClusterId: id }));
        return out.CacheClusters?.[0];
      }),
    ).then((list) => list.filter((c): c is CacheCluster => c !== undefined));
    checks.push(engineCheck(clusters, options.minEngineVersion ?? '7.0'));
    checks.push(await evictionCheck(options.elastiCache, clusters));
    const groupIds = [...new Set(clusters.flatMap((c) => (c.SecurityGroups ?? []).map((g) => g.SecurityGroupId).filter((g): g is string => !!g)))];
    checks.push(await securityGroupCheck(options.ec2, groupIds, options.appSecurityGroupId, portOf(group)));
  } catch (error) {
    checks.push({ id: 'describe', level: 'fail', message: `AWS API call failed: ${errorText(error)}`, hint: 'the credentials need elasticache:Describe* and ec2:DescribeSecurityGroups.' });
  }
  return report();
}
