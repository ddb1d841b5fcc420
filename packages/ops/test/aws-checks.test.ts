// The AWS checks against aws-sdk-client-mock fixtures shaped like real Describe* answers: one
// healthy setup, then one fault at a time. No AWS account is reachable from here.
import { DescribeSecurityGroupsCommand, EC2Client, type IpPermission } from '@aws-sdk/client-ec2';
import {
  type CacheCluster,
  DescribeCacheClustersCommand,
  DescribeCacheParametersCommand,
  DescribeReplicationGroupsCommand,
  ElastiCacheClient,
  type ReplicationGroup,
  ReplicationGroupNotFoundFault,
} from '@aws-sdk/client-elasticache';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { awsCheckMain, runAwsChecks } from '../src/aws';

const APP_SG = 'sg-0app0000000000001';
const CACHE_SG = 'sg-0cache000000000001';
const GROUP = 'airl-ratelimit';

const elastiCache = mockClient(ElastiCacheClient);
const ec2 = mockClient(EC2Client);

function replicationGroup(overrides: Partial<ReplicationGroup> = {}): ReplicationGroup {
  return {
    ReplicationGroupId: GROUP,
    Status: 'available',
    MemberClusters: [`${GROUP}-001`, `${GROUP}-002`],
    NodeGroups: [{ NodeGroupId: '0001', PrimaryEndpoint: { Address: `master.${GROUP}.abc123.use1.cache.amazonaws.com`, Port: 6379 } }],
    AutomaticFailover: 'enabled',
    MultiAZ: 'enabled',
    ClusterEnabled: false,
    AuthTokenEnabled: true,
    TransitEncryptionEnabled: true,
    TransitEncryptionMode: 'required',
    AtRestEncryptionEnabled: true,
    ...overrides,
  };
}

function cacheCluster(id: string, overrides: Partial<CacheCluster> = {}): CacheCluster {
  return {
    CacheClusterId: id,
    Engine: 'redis',
    EngineVersion: '7.1.0',
    CacheClusterStatus: 'available',
    CacheParameterGroup: { CacheParameterGroupName: 'airl-ratelimit-params', ParameterApplyStatus: 'in-sync' },
    SecurityGroups: [{ SecurityGroupId: CACHE_SG, Status: 'active' }],
    ReplicationGroupId: GROUP,
    ...overrides,
  };
}

const appRule = (port = 6379): IpPermission => ({ IpProtocol: 'tcp', FromPort: port, ToPort: port, UserIdGroupPairs: [{ GroupId: APP_SG, UserId: '123456789012' }] });

function healthy({ group = replicationGroup(), cluster = {}, policy = 'noeviction', rules = [appRule()] }: {
  group?: ReplicationGroup;
  cluster?: Partial<CacheCluster>;
  policy?: string;
  rules?: IpPermission[];
} = {}) {
  elastiCache.on(DescribeReplicationGroupsCommand, { ReplicationGroupId: GROUP }).resolves({ ReplicationGroups: [group] });
  for (const id of group.MemberClusters ?? []) {
    elastiCache.on(DescribeCacheClustersCommand, { CacheClusterId: id }).resolves({ CacheClusters: [cacheCluster(id, cluster)] });
  }
  // two pages, the policy on the second, as DescribeCacheParameters pages through ~200 parameters
  elastiCache
    .on(DescribeCacheParametersCommand, { CacheParameterGroupName: 'airl-ratelimit-params', Marker: undefined })
    .resolves({ Parameters: [{ ParameterName: 'activerehashing', ParameterValue: 'yes' }], Marker: 'page-2' })
    .on(DescribeCacheParametersCommand, { CacheParameterGroupName: 'airl-ratelimit-params', Marker: 'page-2' })
    .resolves({ Parameters: [{ ParameterName: 'maxmemory-policy', ParameterValue: policy }] });
  ec2.on(DescribeSecurityGroupsCommand, { GroupIds: [CACHE_SG] }).resolves({ SecurityGroups: [{ GroupId: CACHE_SG, IpPermissions: rules }] });
}

const run = () => runAwsChecks({ replicationGroupId: GROUP, appSecurityGroupId: APP_SG, elastiCache: new ElastiCacheClient({ region: 'us-east-1' }), ec2: new EC2Client({ region: 'us-east-1' }) });
const levelOf = async (id: string) => (await run()).checks.find((c) => c.id === id);

beforeEach(() => {
  elastiCache.reset();
  ec2.reset();
});
afterEach(() => {
  elastiCache.reset();
  ec2.reset();
});

describe('a healthy setup', () => {
  it('passes every check', async () => {
    healthy();
    const report = await run();
    expect(report.checks.map((c) => [c.id, c.level])).toEqual([
      ['status', 'ok'],
      ['encryption-in-transit', 'ok'],
      ['encryption-at-rest', 'ok'],
      ['auth', 'ok'],
      ['engine-version', 'ok'],
      ['eviction-policy', 'ok'],
      ['security-group', 'ok'],
    ]);
    expect(report.status).toBe('ok');
    expect(elastiCache.commandCalls(DescribeCacheClustersCommand)).toHaveLength(2);
  });

  it('reads the port of a cluster-mode configuration endpoint', async () => {
    healthy({ group: replicationGroup({ ClusterEnabled: true, NodeGroups: [], ConfigurationEndpoint: { Address: 'cfg', Port: 6380 } }), rules: [appRule(6380)] });
    expect(await levelOf('security-group')).toMatchObject({ level: 'ok', message: expect.stringContaining('port 6380') });
  });

  it('accepts RBAC user groups instead of an AUTH token', async () => {
    healthy({ group: replicationGroup({ AuthTokenEnabled: false, UserGroupIds: ['airl-users'] }) });
    expect(await levelOf('auth')).toMatchObject({ level: 'ok' });
  });
});

describe('one fault at a time', () => {
  it('status: a missing group fails with a hint about region and account', async () => {
    elastiCache.on(DescribeReplicationGroupsCommand).rejects(new ReplicationGroupNotFoundFault({ message: 'not found', $metadata: {} }));
    const report = await run();
    expect(report.status).toBe('fail');
    expect(report.checks).toEqual([expect.objectContaining({ id: 'status', level: 'fail', hint: expect.stringContaining('AWS_REGION') })]);
  });

  it('status: modifying warns, create-failed fails', async () => {
    healthy({ group: replicationGroup({ Status: 'modifying' }) });
    expect(await levelOf('status')).toMatchObject({ level: 'warn' });
    elastiCache.reset();
    healthy({ group: replicationGroup({ Status: 'create-failed' }) });
    expect(await levelOf('status')).toMatchObject({ level: 'fail' });
  });

  it('engine-version: 6.0 fails against the default minimum 7.0', async () => {
    healthy({ cluster: { EngineVersion: '6.0.5' } });
    expect(await levelOf('engine-version')).toMatchObject({ level: 'fail', message: expect.stringContaining('6.0.5') });
  });

  it('encryption-in-transit: off fails, preferred warns', async () => {
    healthy({ group: replicationGroup({ TransitEncryptionEnabled: false, TransitEncryptionMode: undefined }) });
    expect(await levelOf('encryption-in-transit')).toMatchObject({ level: 'fail' });
    elastiCache.reset();
    healthy({ group: replicationGroup({ TransitEncryptionMode: 'preferred' }) });
    expect(await levelOf('encryption-in-transit')).toMatchObject({ level: 'warn' });
  });

  it('encryption-at-rest: off fails', async () => {
    healthy({ group: replicationGroup({ AtRestEncryptionEnabled: false }) });
    expect(await levelOf('encryption-at-rest')).toMatchObject({ level: 'fail' });
  });

  it('auth: neither token nor user group warns', async () => {
    healthy({ group: replicationGroup({ AuthTokenEnabled: false }) });
    expect(await levelOf('auth')).toMatchObject({ level: 'warn' });
  });

  it("eviction-policy: the default groups' volatile-lru warns", async () => {
    healthy({ policy: 'volatile-lru' });
    expect(await levelOf('eviction-policy')).toMatchObject({ level: 'warn', message: expect.stringContaining('volatile-lru') });
  });

  it('security-group: a CIDR on the port fails', async () => {
    healthy({ rules: [appRule(), { IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] });
    expect(await levelOf('security-group')).toMatchObject({ level: 'fail', message: expect.stringContaining('CIDR 0.0.0.0/0') });
  });

  it('security-group: another group, an all-traffic rule or a port range that covers 6379 fails', async () => {
    for (const rule of [
      { IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, UserIdGroupPairs: [{ GroupId: 'sg-0other' }] },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, PrefixListIds: [{ PrefixListId: 'pl-123' }] },
      { IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ] satisfies IpPermission[]) {
      ec2.reset();
      elastiCache.reset();
      healthy({ rules: [appRule(), rule] });
      expect(await levelOf('security-group')).toMatchObject({ level: 'fail' });
    }
  });

  it('security-group: rules on other ports do not matter, but the app must be admitted', async () => {
    healthy({ rules: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] });
    expect(await levelOf('security-group')).toMatchObject({ level: 'fail', message: expect.stringContaining('not admitted') });
  });

  it('security-group: no group attached fails', async () => {
    healthy({ cluster: { SecurityGroups: [] } });
    expect(await levelOf('security-group')).toMatchObject({ level: 'fail', message: expect.stringContaining('no VPC security group') });
  });

  it('an API error (no permission) becomes a failed check, not a crash', async () => {
    healthy();
    ec2.on(DescribeSecurityGroupsCommand).rejects(new Error('UnauthorizedOperation: not allowed'));
    const report = await run();
    expect(report.checks.at(-1)).toMatchObject({ id: 'describe', level: 'fail', hint: expect.stringContaining('ec2:DescribeSecurityGroups') });
  });
});

describe('the command line', () => {
  const argv = ['--replication-group', GROUP, '--app-security-group', APP_SG, '--region', 'us-east-1'];
  const cli = async (args: string[]) => {
    let out = '';
    const code = await awsCheckMain(args, (t) => (out += t));
    return { code, out };
  };

  it('exits 0 when healthy and prints JSON with --json', async () => {
    healthy();
    const { code, out } = await cli([...argv, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ status: 'ok', exitCode: 0, replicationGroupId: GROUP });
  });

  it('exits 1 on warnings with --strict, 0 without; 2 on failures', async () => {
    healthy({ policy: 'allkeys-lru' });
    expect((await cli([...argv, '--strict'])).code).toBe(1);
    expect((await cli(argv)).code).toBe(0);
    elastiCache.reset();
    healthy({ group: replicationGroup({ AtRestEncryptionEnabled: false }) });
    const { code, out } = await cli(argv);
    expect(code).toBe(2);
    expect(out).toContain('FAIL  encryption-at-rest');
  });

  it('exits 2 with the usage on missing or bad arguments', async () => {
    for (const args of [[], ['--replication-group', GROUP], ['--replication-group', GROUP, '--app-security-group', 'app'], ['--bogus']]) {
      const { code, out } = await cli(args);
      expect(code).toBe(2);
      expect(out).toContain('usage: airl-aws-check');
    }
  });
});
