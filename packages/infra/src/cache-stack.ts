// The rate limiter's cache on AWS: an ElastiCache (Redis OSS) replication group with TLS and an
// AUTH token from Secrets Manager, in private subnets, reachable on its port from the app's
// security group only; CloudWatch alarms on the cache and on the limiter's own metrics; an SNS
// topic for them. Synthesizes offline: no lookups, no account needed.
import { EMF_DEFAULTS } from '@airl/ops/emf';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

import { CacheAlarms, LimiterAlarms } from './alarms';
import { LimiterFunction, type LimiterFunctionOptions } from './limiter-function';

/** An existing VPC, given by ids so synthesis needs no AWS lookup. */
export interface ExistingNetwork {
  /** The VPC's id (`vpc-...`). */
  readonly vpcId: string;
  /** The AZs of `subnetIds`, in the same order. */
  readonly availabilityZones: readonly string[];
  /** Private subnets for the cache, one per AZ (two or more for Multi-AZ). */
  readonly subnetIds: readonly string[];
}

export interface RateLimitCacheStackProps extends StackProps {
  /**
   * Where the cache goes. When absent, a VPC is created with isolated subnets in two AZs and no
   * NAT gateway (the cache needs no internet; the app's compute must join this VPC).
   */
  readonly network?: ExistingNetwork;
  /**
   * Security group of the app's compute (ECS service, Lambda, App Runner VPC connector); the only
   * source admitted on the cache's port. When absent, one is created: attach it to the app.
   */
  readonly appSecurityGroupId?: string;
  /**
   * Replication group id: 1-40 lowercase letters, digits and hyphens. Alarms name its nodes
   * after it.
   * @default 'airl-ratelimit'
   */
  readonly replicationGroupId?: string;
  /**
   * Node type.
   * @default 'cache.t4g.micro'
   */
  readonly nodeType?: string;
  /**
   * The engine: `'redis'` (Redis OSS, whose ElastiCache versions stop at 7.1) or `'valkey'` (what
   * ElastiCache recommends for new caches; same protocol, Functions from 7.2). Changing it on a
   * deployed cache replaces the replication group (and its data).
   * @default 'redis'
   */
  readonly engine?: 'redis' | 'valkey';
  /**
   * Engine version (a `major.minor` ElastiCache offers for the engine).
   * @default '7.1' for Redis OSS, '8.0' for Valkey
   */
  readonly engineVersion?: string;
  /**
   * Replicas per shard (0-5). Multi-AZ needs at least 1.
   * @default 0
   */
  readonly replicasPerShard?: number;
  /**
   * Automatic failover to a replica in another AZ.
   * @default false
   */
  readonly multiAz?: boolean;
  /**
   * Cluster mode: keys sharded over this many shards (the app then sets `REDIS_CLUSTER=true`).
   * Absent: one shard, cluster mode off.
   */
  readonly shards?: number;
  /**
   * The connection limit of a node, for the CurrConnections alarm (at 80% of it). ElastiCache
   * allows 65,000 per node.
   * @default 65000
   */
  readonly maxConnections?: number;
  /** An address to subscribe to the alarm topic (it must confirm the subscription). */
  readonly alarmEmail?: string;
  /**
   * Where the app publishes the limiter's EMF metrics (`createEmfMetrics` in `@airl/ops/emf`).
   * @default { namespace: 'AIRateLimit', dimensions: { Service: 'ai-ratelimit' } }
   */
  readonly limiterMetrics?: { readonly namespace: string; readonly dimensions: Readonly<Record<string, string>> };
  /**
   * Decisions answered by a failure policy (fallback, fail-open, fail-closed) as a share of all
   * decisions in 5 minutes, in percent, above which the share alarm fires.
   * @default 1
   */
  readonly degradedSharePercent?: number;
  /**
   * Days of daily snapshots kept (0 turns them off). The limiter's data is short-lived, but a
   * snapshot restores the windows after a bad change (docs/runbooks/backup-restore.md).
   * @default 1
   */
  readonly snapshotRetentionDays?: number;
  /**
   * Adds the limiter function (option B of docs/aws-deployment.md): a Lambda in the cache's subnets
   * that apps outside the VPC (Amplify Hosting) invoke with IAM. See `LimiterFunctionOptions`.
   * @default none
   */
  readonly limiterFunction?: LimiterFunctionOptions;
}

/** The member node ids ElastiCache gives a replication group: `<id>-001`, or `<id>-0001-001` in cluster mode. */
export function memberClusterIds(replicationGroupId: string, shards: number | undefined, replicasPerShard: number): string[] {
  const nodes = replicasPerShard + 1;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  if (shards === undefined) return Array.from({ length: nodes }, (_, i) => `${replicationGroupId}-${pad(i + 1, 3)}`);
  return Array.from({ length: shards }, (_, s) => Array.from({ length: nodes }, (_, n) => `${replicationGroupId}-${pad(s + 1, 4)}-${pad(n + 1, 3)}`)).flat();
}

export class RateLimitCacheStack extends Stack {
  /** The replication group. */
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** The AUTH token: the app reads it as `REDIS_AUTH_TOKEN`. */
  readonly authToken: secretsmanager.Secret;
  /** The cache's own security group. */
  readonly cacheSecurityGroup: ec2.SecurityGroup;
  /** The app's security group (given or created). */
  readonly appSecurityGroup: ec2.ISecurityGroup;
  /** Where every alarm notifies. */
  readonly alarmTopic: sns.Topic;
  /** The limiter function, when `limiterFunction` is set. */
  readonly limiterFunction: LimiterFunction | undefined;

  constructor(scope: Construct, id: string, props: RateLimitCacheStackProps = {}) {
    super(scope, id, props);
    const groupId = props.replicationGroupId ?? 'airl-ratelimit';
    const replicas = props.replicasPerShard ?? 0;
    const multiAz = props.multiAz ?? false;
    const shards = props.shards;
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(groupId) || groupId.endsWith('-') || groupId.includes('--')) {
      throw new Error(`replicationGroupId '${groupId}': 1-40 lowercase letters, digits and single hyphens, starting with a letter`);
    }
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 5) throw new Error(`replicasPerShard ${replicas}: a whole number from 0 to 5`);
    if (multiAz && replicas < 1) throw new Error('multiAz needs replicasPerShard >= 1: failover promotes a replica');
    const engine = props.engine ?? 'redis';
    if (engine !== 'redis' && engine !== 'valkey') throw new Error(`engine '${String(engine)}': 'redis' or 'valkey'`);
    const engineVersion = props.engineVersion ?? (engine === 'valkey' ? '8.0' : '7.1');
    const major = /^(\d+)\.\d+$/.exec(engineVersion)?.[1];
    if (!major || (engine === 'valkey' ? Number(major) < 7 : Number(major) !== 7)) {
      throw new Error(`engineVersion '${engineVersion}': a major.minor of ${engine === 'valkey' ? 'Valkey 7.2 or later' : 'Redis OSS 7 (7.0 or 7.1: the limiter needs Redis >= 6.2, Functions need 7)'}`);
    }
    if (shards !== undefined && (!Number.isInteger(shards) || shards < 1 || shards > 500)) throw new Error(`shards ${shards}: a whole number from 1 to 500`);
    if (props.network && props.network.subnetIds.length !== props.network.availabilityZones.length) {
      throw new Error('network: give one availability zone per subnet id, in the same order');
    }
    if (multiAz && props.network && new Set(props.network.availabilityZones).size < 2) throw new Error('multiAz needs subnets in at least two availability zones');

    const vpc = props.network
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
          vpcId: props.network.vpcId,
          availabilityZones: [...props.network.availabilityZones],
          isolatedSubnetIds: [...props.network.subnetIds],
        })
      : new ec2.Vpc(this, 'Vpc', {
          maxAzs: 2,
          natGateways: 0,
          subnetConfiguration: [{ name: 'cache', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
        });
    const subnetIds = props.network ? [...props.network.subnetIds] : vpc.isolatedSubnets.map((s) => s.subnetId);

    this.appSecurityGroup = props.appSecurityGroupId
      ? ec2.SecurityGroup.fromSecurityGroupId(this, 'AppSecurityGroup', props.appSecurityGroupId, { mutable: false })
      : new ec2.SecurityGroup(this, 'AppSecurityGroup', { vpc, description: 'The app that calls the rate limiter (attach to its compute)' });
    this.cacheSecurityGroup = new ec2.SecurityGroup(this, 'CacheSecurityGroup', {
      vpc,
      description: 'Rate limiter cache: Redis port from the app only',
      allowAllOutbound: false,
    });
    const port = 6379;
    this.cacheSecurityGroup.addIngressRule(this.appSecurityGroup, ec2.Port.tcp(port), 'Redis from the app only');

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Private subnets of the rate limiter cache',
      subnetIds,
      cacheSubnetGroupName: `${groupId}-subnets`,
    });
    const parameters = new elasticache.CfnParameterGroup(this, 'Parameters', {
      // redis7, valkey7, valkey8...
      cacheParameterGroupFamily: `${engine}${major}`,
      description: 'Rate limiter: never evict (an evicted window is free quota)',
      properties: {
        'maxmemory-policy': 'noeviction',
        ...(shards !== undefined && { 'cluster-enabled': 'yes' }),
      },
    });

    // alphanumeric only: AUTH tokens allow few symbols, and this one goes into URLs too
    this.authToken = new secretsmanager.Secret(this, 'AuthToken', {
      description: `AUTH token of ElastiCache replication group ${groupId} (REDIS_AUTH_TOKEN)`,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupId: groupId,
      replicationGroupDescription: 'Rate limiter for AI features',
      engine,
      engineVersion,
      cacheNodeType: props.nodeType ?? 'cache.t4g.micro',
      cacheParameterGroupName: parameters.ref,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.cacheSecurityGroup.securityGroupId],
      port,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: this.authToken.secretValue.unsafeUnwrap(),
      automaticFailoverEnabled: multiAz || shards !== undefined,
      multiAzEnabled: multiAz,
      ...(shards === undefined ? { numCacheClusters: replicas + 1 } : { numNodeGroups: shards, replicasPerNodeGroup: replicas, clusterMode: 'enabled' }),
      snapshotRetentionLimit: props.snapshotRetentionDays ?? 1,
      snapshotWindow: '03:00-04:00',
      preferredMaintenanceWindow: 'sun:05:00-sun:06:00',
      autoMinorVersionUpgrade: true,
    });

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Rate limiter alarms', enforceSSL: true });
    // enforceSSL gives the topic a policy with only a Deny; without this Allow CloudWatch cannot publish
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': this.account },
          ArnLike: { 'aws:SourceArn': `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` },
        },
      }),
    );
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    new CacheAlarms(this, 'CacheAlarms', {
      nodeIds: memberClusterIds(groupId, shards, replicas),
      maxConnections: props.maxConnections ?? 65_000,
      topic: this.alarmTopic,
    });
    new LimiterAlarms(this, 'LimiterAlarms', {
      namespace: props.limiterMetrics?.namespace ?? EMF_DEFAULTS.namespace,
      dimensions: props.limiterMetrics?.dimensions ?? EMF_DEFAULTS.dimensions,
      degradedSharePercent: props.degradedSharePercent ?? 1,
      topic: this.alarmTopic,
    });

    const endpoint = shards === undefined ? this.replicationGroup.attrPrimaryEndPointAddress : this.replicationGroup.attrConfigurationEndPointAddress;
    this.limiterFunction = props.limiterFunction
      ? new LimiterFunction(this, 'Limiter', { ...props.limiterFunction, vpc, cacheSecurityGroup: this.cacheSecurityGroup, port, redisHost: endpoint, cluster: shards !== undefined, authToken: this.authToken })
      : undefined;
    new CfnOutput(this, 'RedisHost', { value: endpoint, description: 'REDIS_HOST (with REDIS_TLS=true)' });
    new CfnOutput(this, 'RedisPort', { value: String(port), description: 'REDIS_PORT' });
    new CfnOutput(this, 'RedisCluster', { value: String(shards !== undefined), description: 'REDIS_CLUSTER' });
    new CfnOutput(this, 'AuthTokenSecretArn', { value: this.authToken.secretArn, description: 'Secret holding REDIS_AUTH_TOKEN' });
    new CfnOutput(this, 'AppSecurityGroupId', { value: this.appSecurityGroup.securityGroupId, description: 'Attach to the app compute' });
    new CfnOutput(this, 'CacheSecurityGroupId', { value: this.cacheSecurityGroup.securityGroupId });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
  }
}
