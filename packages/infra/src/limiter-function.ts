// The limiter function (docs/aws-deployment.md, option B): a Lambda in the cache's VPC and private
// subnets that runs the Redis store for apps whose compute cannot join the VPC (Amplify Hosting).
// Only IAM-authorised callers may invoke it; only its security group reaches the cache from it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The settings of the function a stack user chooses (the rest comes from the cache). */
export interface LimiterFunctionOptions {
  /**
   * IAM roles allowed to invoke the function: the Amplify app's SSR Compute role (Amplify console,
   * App settings, IAM roles). When none is given, a role Amplify can assume is created with that
   * permission (output `SsrComputeRoleArn`): set it as the app's SSR Compute role.
   */
  readonly invokerRoleArns?: readonly string[];
  /**
   * The function's name: the apps' `RATE_LIMIT_LAMBDA`.
   * @default 'airl-ratelimit-limiter'
   */
  readonly functionName?: string;
  /**
   * Reserved concurrency: caps the function's environments, so the cache's connections (one per
   * warm environment, one per node in cluster mode) and the account's concurrency it can take.
   * Needs that much unreserved concurrency in the account (new accounts may have only 10).
   * @default none: bounded by the account's concurrency
   */
  readonly reservedConcurrency?: number;
  /**
   * Memory in MB (CPU grows with it). A check is a few ms of CPU: 256 MB is plenty.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Key prefix of the limiter's data: the apps' `RATE_LIMIT_PREFIX`.
   * @default 'ratelimit'
   */
  readonly prefix?: string;
  /**
   * Create a Secrets Manager interface endpoint in the cache's subnets, so the function can read
   * the AUTH token without a NAT gateway (about $7.30 per AZ per month). Turn off when the VPC
   * already has one (it must admit HTTPS from this function's security group).
   * @default true
   */
  readonly secretsManagerEndpoint?: boolean;
}

export interface LimiterFunctionProps extends LimiterFunctionOptions {
  /** The cache's VPC; the function runs in its isolated (private) subnets. */
  readonly vpc: ec2.IVpc;
  /** The cache's security group: it gets a rule admitting the function on `port`. */
  readonly cacheSecurityGroup: ec2.SecurityGroup;
  readonly port: number;
  /** The cache's primary (or configuration) endpoint. */
  readonly redisHost: string;
  readonly cluster: boolean;
  /** The secret holding the AUTH token. */
  readonly authToken: secretsmanager.ISecret;
}

export class LimiterFunction extends Construct {
  readonly function: NodejsFunction;
  /** The function's own security group (the cache admits it). */
  readonly securityGroup: ec2.SecurityGroup;
  /** The SSR Compute role created when no `invokerRoleArns` were given. */
  readonly ssrComputeRole: iam.Role | undefined;

  constructor(scope: Construct, id: string, props: LimiterFunctionProps) {
    super(scope, id);
    const functionName = props.functionName ?? 'airl-ratelimit-limiter';
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(functionName)) throw new Error(`limiter functionName '${functionName}': 1-64 letters, digits, - and _`);
    const reserved = props.reservedConcurrency;
    if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1)) throw new Error(`limiter reservedConcurrency ${reserved}: a whole number >= 1`);
    for (const arn of props.invokerRoleArns ?? []) {
      if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(arn)) throw new Error(`limiter invokerRoleArns: '${arn}' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)`);
    }
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Rate limiter function: to the cache and Secrets Manager only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(props.cacheSecurityGroup, ec2.Port.tcp(props.port), 'Redis');
    props.cacheSecurityGroup.addIngressRule(this.securityGroup, ec2.Port.tcp(props.port), 'Redis from the limiter function');
    if (props.secretsManagerEndpoint ?? true) {
      const endpoint = props.vpc.addInterfaceEndpoint('SecretsManagerEndpoint', {
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets,
        privateDnsEnabled: true,
        open: false,
      });
      endpoint.connections.allowFrom(this.securityGroup, ec2.Port.tcp(443), 'Secrets Manager from the limiter function');
      this.securityGroup.connections.allowTo(endpoint, ec2.Port.tcp(443), 'Secrets Manager');
    } else {
      this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager through the VPC’s own endpoint or NAT');
    }

    this.function = new NodejsFunction(this, 'Function', {
      functionName,
      description: 'Rate limiter store next to the cache (@airl/infra LimiterFunction)',
      entry: path.join(here, 'limiter-handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      // the app gives up long before (its store timeout); this only ends a stuck invocation
      timeout: Duration.seconds(10),
      vpc: props.vpc,
      vpcSubnets: subnets,
      securityGroups: [this.securityGroup],
      ...(reserved !== undefined && { reservedConcurrentExecutions: reserved }),
      logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
      environment: {
        REDIS_HOST: props.redisHost,
        REDIS_PORT: String(props.port),
        REDIS_TLS: 'true',
        REDIS_CLUSTER: String(props.cluster),
        // the ARN, not the token: the code reads the token at cold start
        REDIS_AUTH_TOKEN_SECRET_ARN: props.authToken.secretArn,
        RATE_LIMIT_PREFIX: props.prefix ?? 'ratelimit',
      },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: false,
        // our pinned SDK and ioredis in the bundle, not the runtime's copy; Valkey GLIDE (a
        // native binary, imported only when a store is made with glideStoreClient()) left out:
        // the function's store runs on ioredis
        externalModules: ['@valkey/valkey-glide'],
      },
    });
    props.authToken.grantRead(this.function);

    if (props.invokerRoleArns?.length) {
      props.invokerRoleArns.forEach((arn, i) => this.function.addPermission(`Invoker${i}`, { principal: new iam.ArnPrincipal(arn), action: 'lambda:InvokeFunction' }));
    } else {
      this.ssrComputeRole = new iam.Role(this, 'SsrComputeRole', {
        assumedBy: new iam.ServicePrincipal('amplify.amazonaws.com'),
        description: 'Amplify SSR Compute role: may invoke the rate limiter function',
      });
      this.function.grantInvoke(this.ssrComputeRole);
      output(this, id, 'SsrComputeRoleArn', this.ssrComputeRole.roleArn, 'Set as the Amplify app’s SSR Compute role');
    }
    output(this, id, 'FunctionArn', this.function.functionArn, 'RATE_LIMIT_LAMBDA of both apps (the ARN names the region)');
    output(this, id, 'FunctionName', this.function.functionName, 'RATE_LIMIT_LAMBDA, with AWS_REGION');
  }
}

/**
 * An output keyed `<id><name>` exactly (`LimiterFunctionArn`), as the docs and `describe-stacks`
 * queries name it: CDK would add a hash to the key of an output inside a construct.
 */
function output(scope: Construct, id: string, name: string, value: string, description: string) {
  new CfnOutput(scope, name, { value, description }).overrideLogicalId(`${id}${name}`);
}
