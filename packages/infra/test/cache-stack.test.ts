// The synthesized templates, checked with aws-cdk-lib/assertions: what the seed asked for is there,
// and nothing opens the cache wider than the app.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { EMF_DEFAULTS, METRIC_NAMES } from '@airl/ops/emf';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';

import { buildApp, memberClusterIds, propsFromContext, RateLimitCacheStack, type RateLimitCacheStackProps } from '../src';

const here = path.dirname(fileURLToPath(import.meta.url));

function synth(props: RateLimitCacheStackProps = {}) {
  const app = new App();
  const stack = new RateLimitCacheStack(app, 'Test', props);
  return { stack, template: Template.fromStack(stack) };
}

type Resource = { Properties: Record<string, unknown> };
const alarms = (template: Template) => Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
const alarmNamed = (template: Template, fragment: string) => alarms(template).filter((a) => String(a.Properties.AlarmName).includes(fragment));

describe('the default stack', () => {
  const { template } = synth();

  it('creates an encrypted replication group whose AUTH token comes from Secrets Manager', () => {
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis',
      EngineVersion: '7.1',
      CacheNodeType: 'cache.t4g.micro',
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      AuthToken: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: Match.stringLikeRegexp('^AuthToken') }, ':SecretString:::}}']] },
      NumCacheClusters: 1,
      AutomaticFailoverEnabled: false,
      MultiAZEnabled: false,
      Port: 6379,
      CacheSubnetGroupName: { Ref: Match.stringLikeRegexp('^SubnetGroup') },
      CacheParameterGroupName: { Ref: Match.stringLikeRegexp('^Parameters') },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  it('never lets Redis evict limiter keys', () => {
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', {
      CacheParameterGroupFamily: 'redis7',
      Properties: { 'maxmemory-policy': 'noeviction' },
    });
  });

  it('puts the cache in isolated subnets of two AZs, with no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: Match.arrayWith([{ Ref: Match.anyValue() }]) });
    const subnetGroup = Object.values(template.findResources('AWS::ElastiCache::SubnetGroup'))[0] as Resource;
    expect(subnetGroup.Properties.SubnetIds).toHaveLength(2);
  });

  it('admits the Redis port from the app security group and from nothing else', () => {
    const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress')) as Resource[];
    expect(ingress).toHaveLength(1);
    expect(ingress[0]!.Properties).toMatchObject({
      IpProtocol: 'tcp',
      FromPort: 6379,
      ToPort: 6379,
      GroupId: { 'Fn::GetAtt': [expect.stringMatching(/^CacheSecurityGroup/), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^AppSecurityGroup/), 'GroupId'] },
    });
    const cacheGroup = Object.entries(template.findResources('AWS::EC2::SecurityGroup')).find(([id]) => id.startsWith('CacheSecurityGroup'))![1] as Resource;
    expect(cacheGroup.Properties.SecurityGroupIngress).toBeUndefined();
    // no egress: CDK's placeholder rule that matches no traffic
    expect(cacheGroup.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32' })]);
  });

  it('alarms on CPU > 75%, connections > 80% of the limit, evictions > 0 and network anomalies', () => {
    expect(alarmNamed(template, 'CPU')[0]!.Properties).toMatchObject({
      MetricName: 'CPUUtilization',
      Namespace: 'AWS/ElastiCache',
      Threshold: 75,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [
        { Name: 'CacheClusterId', Value: 'airl-ratelimit-001' },
        { Name: 'CacheNodeId', Value: '0001' },
      ],
    });
    expect(alarmNamed(template, 'connections')[0]!.Properties).toMatchObject({ MetricName: 'CurrConnections', Threshold: 52_000, Statistic: 'Maximum' });
    expect(alarmNamed(template, 'evictions')[0]!.Properties).toMatchObject({
      MetricName: 'Evictions',
      Threshold: 0,
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    for (const direction of ['In', 'Out']) {
      const [alarm] = alarmNamed(template, `NetworkBytes${direction} anomaly`);
      expect(alarm!.Properties).toMatchObject({
        ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
        ThresholdMetricId: 'expr_1',
        Metrics: expect.arrayContaining([
          expect.objectContaining({ Expression: 'ANOMALY_DETECTION_BAND(m0, 3)' }),
          expect.objectContaining({ MetricStat: expect.objectContaining({ Metric: expect.objectContaining({ MetricName: `NetworkBytes${direction}` }) }) }),
        ]),
      });
    }
  });

  type MetricQuery = { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: unknown }; Period: number; Stat: string } };
  /** Evaluates an alarm's metric math over sums per metric name, as CloudWatch would for one period. */
  function evaluate(alarm: Resource, sums: Partial<Record<string, number>>): number {
    const queries = alarm.Properties.Metrics as MetricQuery[];
    const inputs = queries.filter((q) => q.MetricStat);
    const expression = queries.find((q) => q.Expression)!.Expression!;
    // only ids, numbers and + - * / ( ) may appear: anything else is not this alarm's math
    expect(expression).toMatch(/^[\w\s+\-*/().]+$/);
    const values = inputs.map((q) => sums[q.MetricStat!.Metric.MetricName] ?? 0);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the expression passed the character check above
    return (new Function(...inputs.map((q) => q.Id), `return ${expression};`) as (...v: number[]) => number)(...values);
  }

  it('alarms on the share of decisions a failure policy answered, computed from decisions, not store errors', () => {
    const [share] = alarmNamed(template, 'of decisions without Redis');
    expect(share!.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const queries = share!.Properties.Metrics as MetricQuery[];
    expect(queries.filter((q) => q.ReturnData !== false)).toHaveLength(1);
    const used = queries.filter((q) => q.MetricStat).map((q) => q.MetricStat!);
    expect(used.map((m) => m.Metric.MetricName).sort()).toEqual([METRIC_NAMES.allowed, METRIC_NAMES.denied, METRIC_NAMES.failClosed, METRIC_NAMES.failOpen, METRIC_NAMES.fallback].sort());
    expect(used.map((m) => m.Metric.MetricName)).not.toContain(METRIC_NAMES.storeErrors);
    for (const m of used) {
      expect(m).toMatchObject({ Period: 300, Stat: 'Sum' });
      expect(m.Metric).toMatchObject({ Namespace: EMF_DEFAULTS.namespace, Dimensions: [{ Name: 'Service', Value: 'ai-ratelimit' }] });
    }
    // the outage: 12 s of fallback answers at 10 decisions/s in a 5-minute period of 3,000
    // decisions (6 store errors: the breaker keeps later calls off the store) is 4% and fires
    expect(evaluate(share!, { Allowed: 2_900, Denied: 100, Fallback: 120, StoreErrors: 6 })).toBeCloseTo(4);
    // the same outage at 1,000 decisions/s: the same share; the old errors-over-calls rate was 0.002%
    expect(evaluate(share!, { Allowed: 290_000, Denied: 10_000, Fallback: 12_000, StoreErrors: 6 })).toBeCloseTo(4);
    expect(evaluate(share!, { Allowed: 9_900, Denied: 100, FailOpen: 50, FailClosed: 60, Fallback: 0 })).toBeCloseTo(1.1);
    expect(evaluate(share!, { Allowed: 10_000, Denied: 0, StoreErrors: 500 })).toBe(0);
  });

  it('alarms on any fallback answer, store-unavailable refusal or outage, and on any fail-open', () => {
    const [without] = alarmNamed(template, 'answered without Redis');
    expect(without!.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    expect(evaluate(without!, { Allowed: 1000, Fallback: 1 })).toBeGreaterThan(0);
    expect(evaluate(without!, { Denied: 1, FailClosed: 1 })).toBeGreaterThan(0);
    expect(evaluate(without!, { StoreUnavailable: 1 })).toBeGreaterThan(0);
    expect(evaluate(without!, { Allowed: 1000, Denied: 10, StoreErrors: 3 })).toBe(0);
    expect(alarmNamed(template, 'failed open')[0]!.Properties).toMatchObject({
      MetricName: METRIC_NAMES.failOpen,
      Namespace: 'AIRateLimit',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarmNamed(template, 'store errors')).toEqual([]);
  });

  it('lets CloudWatch alarms of this account publish to the topic, and still denies anything without TLS', () => {
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')) as Resource[];
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties.Topics).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
    const statements = (policies[0]!.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toHaveLength(2);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const allow = statements.find((st) => st.Effect === 'Allow')!;
    expect(allow).toMatchObject({
      Action: 'sns:Publish',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Resource: { Ref: expect.stringMatching(/^AlarmTopic/) },
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    });
    expect(JSON.stringify((allow.Condition as { ArnLike: unknown }).ArnLike)).toMatch(/aws:SourceArn.*:cloudwatch:.*:alarm:\*/);
  });

  it('is what the delivery proof names (runbook and aws-deployment.md): the stack, its topic output and the alarm it forces', () => {
    const runbook = fs.readFileSync(path.join(here, '../../../docs/runbooks/incident-response.md'), 'utf8');
    const proof = runbook.slice(runbook.indexOf('## Prove that alarms reach someone'));
    expect(proof).toContain('aws cloudwatch set-alarm-state');
    expect(/--stack-name (\S+)/.exec(proof)?.[1]).toBe(buildApp(new App()).stackName);
    expect(Object.keys(template.findOutputs('*'))).toContain(/OutputKey=='(\w+)'/.exec(proof)?.[1]);
    const deployment = fs.readFileSync(path.join(here, '../../../docs/aws-deployment.md'), 'utf8');
    const forced = [...`${proof}${deployment}`.matchAll(/--alarm-name "([^"]+)"/g)].map((m) => m[1]);
    expect(forced.length).toBeGreaterThan(0);
    for (const name of forced) expect(alarms(template).map((a) => a.Properties.AlarmName)).toContain(name);
  });

  it('sends every alarm and every recovery to the SNS topic', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const all = alarms(template);
    expect(all).toHaveLength(8);
    for (const alarm of all) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^AlarmTopic/) }]);
    }
  });

  it('outputs what the app needs: host, port, cluster flag, the secret and the app security group', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs)).toEqual(expect.arrayContaining(['RedisHost', 'RedisPort', 'RedisCluster', 'AuthTokenSecretArn', 'AppSecurityGroupId', 'AlarmTopicArn']));
    expect(outputs.RedisHost!.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReplicationGroup/), 'PrimaryEndPoint.Address'] });
  });
});

describe('options', () => {
  it('multi-AZ: a replica, automatic failover, and alarms on both nodes', () => {
    const { template } = synth({ replicasPerShard: 1, multiAz: true });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { NumCacheClusters: 2, AutomaticFailoverEnabled: true, MultiAZEnabled: true });
    expect(alarms(template)).toHaveLength(2 * 5 + 3);
    expect(alarmNamed(template, 'airl-ratelimit-002 CPU')).toHaveLength(1);
  });

  it('cluster mode: shards, cluster-enabled parameter, configuration endpoint, alarms per shard node', () => {
    const { template } = synth({ shards: 3, replicasPerShard: 1 });
    template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      NumNodeGroups: 3,
      ReplicasPerNodeGroup: 1,
      ClusterMode: 'enabled',
      AutomaticFailoverEnabled: true,
      NumCacheClusters: Match.absent(),
    });
    template.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { Properties: { 'maxmemory-policy': 'noeviction', 'cluster-enabled': 'yes' } });
    expect(template.findOutputs('RedisHost').RedisHost!.Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReplicationGroup/), 'ConfigurationEndPoint.Address'] });
    expect(template.findOutputs('RedisCluster').RedisCluster!.Value).toBe('true');
    expect(alarms(template)).toHaveLength(6 * 5 + 3);
    expect(alarmNamed(template, 'airl-ratelimit-0003-002 evictions')).toHaveLength(1);
  });

  it('an existing VPC and app security group: no VPC created, subnets and source as given', () => {
    const { template } = synth({
      network: { vpcId: 'vpc-033be7e71ec9548d2', subnetIds: ['subnet-0e48ea131e6267bea', 'subnet-003088e522e36eaa8'], availabilityZones: ['us-east-1f', 'us-east-1e'] },
      appSecurityGroupId: 'sg-0b7cd6003e324a3bc',
    });
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.hasResourceProperties('AWS::ElastiCache::SubnetGroup', { SubnetIds: ['subnet-0e48ea131e6267bea', 'subnet-003088e522e36eaa8'] });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { SourceSecurityGroupId: 'sg-0b7cd6003e324a3bc', FromPort: 6379, ToPort: 6379 });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-033be7e71ec9548d2' });
  });

  it('limiter alarms follow the namespace and dimensions the app publishes with', () => {
    const { template } = synth({ limiterMetrics: { namespace: 'Custom/Limiter', dimensions: { Service: 'x', App: 'web' } }, degradedSharePercent: 5 });
    expect(alarmNamed(template, 'failed open')[0]!.Properties).toMatchObject({
      Namespace: 'Custom/Limiter',
      // order does not matter to CloudWatch
      Dimensions: expect.toSatisfy((d: unknown[]) => d.length === 2),
    });
    expect(alarmNamed(template, 'failed open')[0]!.Properties.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'Service', Value: 'x' },
        { Name: 'App', Value: 'web' },
      ]),
    );
    expect(alarmNamed(template, '> 5% of decisions')).toHaveLength(1);
  });

  it('subscribes an alarm email when given', () => {
    const { template } = synth({ alarmEmail: 'oncall@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('the Valkey engine: its version and parameter family, never evicting', () => {
    const valkey = synth({ engine: 'valkey' }).template;
    valkey.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', { Engine: 'valkey', EngineVersion: '8.0', TransitEncryptionEnabled: true });
    valkey.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { CacheParameterGroupFamily: 'valkey8', Properties: { 'maxmemory-policy': 'noeviction' } });
    const seven = synth({ engine: 'valkey', engineVersion: '7.2' }).template;
    seven.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { CacheParameterGroupFamily: 'valkey7' });
  });

  it('rejects settings ElastiCache would reject, before deployment', () => {
    expect(() => synth({ engine: 'memcached' as 'redis' })).toThrow(/engine 'memcached'/);
    expect(() => synth({ engineVersion: '6.2' })).toThrow(/engineVersion '6.2'/);
    expect(() => synth({ engine: 'valkey', engineVersion: '8' })).toThrow(/engineVersion '8'/);
    expect(() => synth({ multiAz: true })).toThrow(/replicasPerShard >= 1/);
    expect(() => synth({ replicationGroupId: 'Bad_Id' })).toThrow(/replicationGroupId/);
    expect(() => synth({ replicasPerShard: 6 })).toThrow(/0 to 5/);
    expect(() => synth({ shards: 0 })).toThrow(/shards/);
    expect(() => synth({ network: { vpcId: 'vpc-1', subnetIds: ['subnet-1'], availabilityZones: [] } })).toThrow(/availability zone/);
  });

  it('names member nodes the way ElastiCache does', () => {
    expect(memberClusterIds('rg', undefined, 1)).toEqual(['rg-001', 'rg-002']);
    expect(memberClusterIds('rg', 2, 0)).toEqual(['rg-0001-001', 'rg-0002-001']);
  });
});

describe('the app', () => {
  it('reads its settings from context, env-agnostic unless account and region are both given', () => {
    const agnostic = buildApp(new App());
    expect(agnostic.stackName).toBe('AirlRateLimitCache');
    expect(agnostic.environment).toBe('aws://unknown-account/unknown-region');
    const app = new App({
      context: {
        account: '123456789012',
        region: 'us-east-1',
        vpcId: 'vpc-1',
        subnetIds: 'subnet-a, subnet-b',
        availabilityZones: 'us-east-1a,us-east-1b',
        replicasPerShard: '1',
        multiAz: 'true',
        alarmEmail: 'oncall@example.com',
      },
    });
    const props = propsFromContext(app);
    expect(props).toMatchObject({ env: { account: '123456789012', region: 'us-east-1' }, replicasPerShard: 1, multiAz: true, network: { subnetIds: ['subnet-a', 'subnet-b'] } });
    expect(() => propsFromContext(new App({ context: { account: '123456789012' } }))).toThrow(/both account and region/);
    expect(() => propsFromContext(new App({ context: { multiAz: 'maybe' } }))).toThrow(/true or false/);
    expect(() => propsFromContext(new App({ context: { vpcId: 'vpc-1' } }))).toThrow(/subnetIds/);
  });

  // a real CLI process: slow on a loaded 2-core machine
  it('`cdk synth` works offline with no AWS credentials', { timeout: 150_000 }, () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-out-'));
    try {
      const result = spawnSync(path.join(here, '../node_modules/.bin/cdk'), ['synth', '--quiet', '--no-notices', '-o', out], {
        cwd: path.join(here, '..'),
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          PATH: `${path.join(here, '../node_modules/.bin')}:${process.env.PATH ?? ''}`,
          HOME: out,
          CDK_DISABLE_VERSION_CHECK: '1',
          CDK_DISABLE_CLI_TELEMETRY: '1',
          AWS_EC2_METADATA_DISABLED: 'true',
        },
      });
      expect(result.status, result.stderr).toBe(0);
      const template = JSON.parse(fs.readFileSync(path.join(out, 'AirlRateLimitCache.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
      expect(Object.values(template.Resources).some((r) => r.Type === 'AWS::ElastiCache::ReplicationGroup')).toBe(true);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
