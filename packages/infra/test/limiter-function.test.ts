// The limiter function (option B): its template, checked with aws-cdk-lib/assertions, and its
// bundle as `cdk synth` builds it, run end to end: the real AWS SDK invoking it through a local
// endpoint speaking Lambda's Invoke API, the bundle reading the AUTH token from a local endpoint
// speaking Secrets Manager's API, and a real Redis with TLS and a password behind it.
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { App } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';

import { dummyAws, startInvokeEndpoint } from '@airl/vitest-config/lambda-endpoint';
import { startTlsServer } from '@airl/vitest-config/redis';

import { propsFromContext, RateLimitCacheStack, type RateLimitCacheStackProps } from '../src';

const SSR_ROLE = 'arn:aws:iam::123456789012:role/amplify-ssr-compute';

/** Synthesizes without bundling (an empty asset): the template is what these tests read. */
function synth(props: RateLimitCacheStackProps, context: Record<string, unknown> = { 'aws:cdk:bundling-stacks': [] }) {
  const app = new App({ context });
  const stack = new RateLimitCacheStack(app, 'Test', props);
  return { app, stack, template: Template.fromStack(stack) };
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;
// exactly the keys the docs give (`--query "Stacks[0].Outputs[?OutputKey=='LimiterFunctionArn']"`), no hash suffix
const output = (template: Template, key: string) => template.findOutputs('*')[key];
const ofType = (template: Template, type: string) => Object.entries(template.toJSON().Resources as Resources).filter(([, r]) => r.Type === type);

describe('the limiter function, given the SSR Compute role', () => {
  const { template, stack } = synth({ limiterFunction: { invokerRoleArns: [SSR_ROLE] } });
  const [[fnId, fn]] = ofType(template, 'AWS::Lambda::Function').filter(([, r]) => r.Properties.FunctionName === 'airl-ratelimit-limiter') as [[string, Resources[string]]];
  const fnSg = stack.resolve(stack.limiterFunction!.securityGroup.securityGroupId) as unknown;
  const cacheSg = stack.resolve(stack.cacheSecurityGroup.securityGroupId) as unknown;

  it('runs Node.js 22 on arm64, in the cache’s isolated subnets, with its own security group', () => {
    expect(fnId).toMatch(/^Limiter/);
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], MemorySize: 256, Timeout: 10, Handler: 'index.handler' });
    const subnets = stack.resolve((stack.node.findChild('Vpc') as ec2.Vpc).isolatedSubnets.map((s) => s.subnetId)) as unknown;
    expect(fn.Properties.VpcConfig).toEqual({ SubnetIds: subnets, SecurityGroupIds: [fnSg] });
    expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
  });

  it('is admitted by the cache on the Redis port, and may reach only the cache and Secrets Manager', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: cacheSg, SourceSecurityGroupId: fnSg, IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379 });
    const egress = ofType(template, 'AWS::EC2::SecurityGroupEgress').filter(([, r]) => JSON.stringify(r.Properties.GroupId) === JSON.stringify(fnSg));
    expect(egress.map(([, r]) => r.Properties.FromPort).sort()).toEqual([443, 6379]);
    for (const [, r] of egress) expect(r.Properties).not.toHaveProperty('CidrIp');
    const sg = ofType(template, 'AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('LimiterSecurityGroup'))!;
    // no allow-all egress rule of its own
    expect(JSON.stringify(sg[1].Properties.SecurityGroupEgress ?? [])).not.toContain('0.0.0.0/0');
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('secretsmanager')])]) }),
      VpcEndpointType: 'Interface',
      PrivateDnsEnabled: true,
    });
  });

  it('gets the secret’s ARN, never the token, and may read only that secret', () => {
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ REDIS_TLS: 'true', REDIS_PORT: '6379', REDIS_CLUSTER: 'false', RATE_LIMIT_PREFIX: 'ratelimit', REDIS_AUTH_TOKEN_SECRET_ARN: { Ref: expect.stringMatching(/^AuthToken/) as unknown } });
    expect(env.REDIS_HOST).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ReplicationGroup/), 'PrimaryEndPoint.Address'] });
    expect(JSON.stringify(env)).not.toMatch(/resolve:secretsmanager|SecretString|REDIS_AUTH_TOKEN"|REDIS_PASSWORD/);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Effect: 'Allow', Resource: { Ref: Match.stringLikeRegexp('^AuthToken') } })]) },
      Roles: [{ Ref: Match.stringLikeRegexp('^LimiterFunctionServiceRole') }],
    });
  });

  it('lets the SSR Compute role invoke it, and nobody else', () => {
    const permissions = ofType(template, 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(1);
    expect(permissions[0]![1].Properties).toEqual({ Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] }, Principal: SSR_ROLE });
    expect(ofType(template, 'AWS::Lambda::Url')).toHaveLength(0);
    expect(output(template, 'LimiterFunctionName')).toMatchObject({ Value: { Ref: fnId } });
    expect(output(template, 'LimiterFunctionArn')).toMatchObject({ Value: { 'Fn::GetAtt': [fnId, 'Arn'] } });
  });
});

describe('the limiter function, other settings', () => {
  it('without an SSR role, creates one Amplify can assume, allowed to invoke', () => {
    const { template } = synth({ limiterFunction: {} });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Action: 'sts:AssumeRole', Principal: { Service: 'amplify.amazonaws.com' } })] },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'lambda:InvokeFunction', Effect: 'Allow' })] },
      Roles: [{ Ref: Match.stringLikeRegexp('^LimiterSsrComputeRole') }],
    });
    expect(output(template, 'LimiterSsrComputeRoleArn')).toMatchObject({ Value: { 'Fn::GetAtt': [expect.stringMatching(/^LimiterSsrComputeRole/), 'Arn'] } });
  });

  it('caps its concurrency when told, runs with the cluster endpoint in cluster mode, and can use the VPC’s own Secrets Manager endpoint', () => {
    const { template } = synth({ shards: 2, limiterFunction: { reservedConcurrency: 20, secretsManagerEndpoint: false, invokerRoleArns: [SSR_ROLE] } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 20,
      Environment: { Variables: Match.objectLike({ REDIS_CLUSTER: 'true', REDIS_HOST: { 'Fn::GetAtt': [Match.anyValue(), 'ConfigurationEndPoint.Address'] } }) },
    });
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  it('is absent unless asked for', () => {
    const { template } = synth({});
    expect(ofType(template, 'AWS::Lambda::Function')).toHaveLength(0);
  });

  it.each([
    [{ invokerRoleArns: ['arn:aws:iam::123456789012:user/alice'] }, /not an IAM role ARN/],
    [{ reservedConcurrency: 0 }, /reservedConcurrency 0/],
    [{ functionName: 'has space' }, /functionName 'has space'/],
  ])('refuses %j at synth', (limiterFunction, message) => {
    expect(() => synth({ limiterFunction })).toThrow(message);
  });

  it('reads its settings from context', () => {
    const props = (context: Record<string, string>) => propsFromContext(new App({ context })).limiterFunction;
    expect(props({})).toBeUndefined();
    expect(props({ limiterFunction: 'true' })).toEqual({ invokerRoleArns: undefined, functionName: undefined, reservedConcurrency: undefined, secretsManagerEndpoint: undefined });
    expect(props({ ssrComputeRoleArn: `${SSR_ROLE}, arn:aws:iam::123456789012:role/b`, limiterReservedConcurrency: '10', limiterSecretsEndpoint: 'false' })).toEqual({
      invokerRoleArns: [SSR_ROLE, 'arn:aws:iam::123456789012:role/b'],
      functionName: undefined,
      reservedConcurrency: 10,
      secretsManagerEndpoint: false,
    });
    expect(props({ limiterFunction: 'false', ssrComputeRoleArn: SSR_ROLE })).toBeUndefined();
  });
});

describe('the bundle `cdk synth` builds, run end to end', () => {
  const cleanup: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  // esbuild on a loaded 2-core machine
  it('reads the AUTH token from Secrets Manager once, then answers checks on a TLS Redis with AUTH', { timeout: 120_000 }, async () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'limiter-bundle-'));
    cleanup.push(() => fs.rmSync(outdir, { recursive: true, force: true }));
    const app = new App({ outdir });
    new RateLimitCacheStack(app, 'Bundle', { limiterFunction: { invokerRoleArns: [SSR_ROLE] } });
    app.synth();
    const bundle = fs
      .readdirSync(outdir)
      .map((d) => path.join(outdir, d, 'index.js'))
      .find((f) => fs.existsSync(f));
    expect(bundle).toBeDefined();

    const token = 'Tok3nFromSecretsManagerOnly0123456789abcdefABCDEF0123456789abcd';
    const redis = await startTlsServer({ password: token });
    cleanup.push(() => redis.stop());
    // Secrets Manager's JSON protocol, for GetSecretValue only; counts the reads
    let reads = 0;
    const secrets = createServer((req, res) => {
      reads++;
      const ok = req.headers['x-amz-target'] === 'secretsmanager.GetSecretValue';
      res.writeHead(ok ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(ok ? { ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:token', Name: 'token', SecretString: token } : { __type: 'UnknownOperationException' }));
    });
    await new Promise<void>((r) => secrets.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => secrets.close(r)));

    // what LimiterFunction sets, pointing at the local servers; the SDK inside the bundle reads the
    // rest (region, dummy credentials, endpoint) from the environment as on AWS
    const env = {
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: String(redis.port),
      REDIS_TLS: 'true',
      REDIS_TLS_CA_FILE: redis.caFile,
      REDIS_CLUSTER: 'false',
      REDIS_AUTH_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:token',
      RATE_LIMIT_PREFIX: 'bundle-test',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: dummyAws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: dummyAws.credentials.secretAccessKey,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    cleanup.push(() => Object.assign(process.env, saved));
    for (const [k, v] of Object.entries(saved)) if (v === undefined) cleanup.push(() => delete process.env[k]);

    const { handler } = createRequire(import.meta.url)(bundle!) as { handler: (event: unknown) => Promise<unknown> };
    const endpoint = await startInvokeEndpoint({ 'airl-ratelimit-limiter': handler });
    cleanup.push(() => endpoint.close());
    const sdk = new LambdaClient({ ...dummyAws, endpoint: endpoint.url, maxAttempts: 1 });
    cleanup.push(() => sdk.destroy());

    const limit = { name: 'minute', unit: 'requests', algorithm: 'sliding-log', code: 1, limit: 2, windowMs: 60_000, ttlMs: 60_000 };
    const check = { op: 'evaluate', identifier: 'creator-1', limits: [limit], costs: [1], mode: 'check', now: null, reservationTtlMs: 600_000, stateTtlMs: 60_000 };
    const invoke = async (ops: unknown[]) => {
      const out = await sdk.send(new InvokeCommand({ FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:airl-ratelimit-limiter', Payload: new TextEncoder().encode(JSON.stringify({ v: 1, ops })) }));
      expect(out.FunctionError).toBeUndefined();
      return JSON.parse(new TextDecoder().decode(out.Payload)) as { results: { ok: boolean; value: { allowed: boolean } }[] };
    };
    const first = await invoke([check, check, check]);
    expect(first.results.map((r) => r.ok && r.value.allowed)).toEqual([true, true, false]);
    const second = await invoke([check]);
    expect(second.results[0]).toMatchObject({ ok: true, value: { allowed: false } });
    // the apps' sessions through the same function and client: under `<prefix>-sessions:` only
    const key = 'bundle-test-sessions:web:session:x';
    const session = await invoke([{ op: 'sessionSet', key, value: '{}', px: 60_000, xx: false }, { op: 'sessionGet', key }]);
    expect(session.results).toEqual([{ ok: true, value: true }, { ok: true, value: '{}' }]);
    expect(await invoke([{ op: 'sessionGet', key: 'bundle-test:creator-1' }])).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    // the token was read at the cold start only
    expect(reads).toBe(1);
    expect(fs.readFileSync(bundle!, 'utf8')).not.toContain(token);
  });
});
