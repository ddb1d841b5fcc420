// The AWS checks' command line, as a function: the program (cli.ts) and the tests call it.
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { parseArgs } from 'node:util';

import { exitCodeFor, formatChecks } from '../checks';
import { runAwsChecks } from './checks';

export const USAGE = `usage: airl-aws-check --replication-group ID --app-security-group sg-... [--region R]
                      [--min-engine-version 7.0] [--json] [--strict]

Checks an ElastiCache replication group for the rate limiter with read-only AWS calls: status,
engine version, encryption in transit and at rest, AUTH, eviction policy, and that its security
group admits the cache port from the app's security group only. Credentials and region come from
the usual AWS chain (AWS_PROFILE, AWS_REGION, ...); --region overrides the region.

exit codes: 0 ok, 1 warnings with --strict, 2 failure
`;

/** Runs the CLI; resolves with the exit code. `write` receives everything printed on stdout. */
export async function awsCheckMain(argv: readonly string[], write: (text: string) => void): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'replication-group': { type: 'string' },
        'app-security-group': { type: 'string' },
        region: { type: 'string' },
        'min-engine-version': { type: 'string' },
        json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    write(USAGE);
    return 0;
  }
  const replicationGroupId = values['replication-group'];
  const appSecurityGroupId = values['app-security-group'];
  if (!replicationGroupId || !appSecurityGroupId?.startsWith('sg-')) {
    write(`--replication-group and --app-security-group (sg-...) are required\n\n${USAGE}`);
    return 2;
  }
  const region = values.region;
  const elastiCache = new ElastiCacheClient(region ? { region } : {});
  const ec2 = new EC2Client(region ? { region } : {});
  try {
    const report = await runAwsChecks({ replicationGroupId, appSecurityGroupId, minEngineVersion: values['min-engine-version'], elastiCache, ec2 });
    const code = exitCodeFor(report.status, values.strict);
    write(
      values.json
        ? `${JSON.stringify({ ...report, exitCode: code }, null, 2)}\n`
        : [`airl aws-check: ${replicationGroupId}`, ...formatChecks(report.checks), `result: ${report.status.toUpperCase()} (exit ${code})`].join('\n') + '\n',
    );
    return code;
  } finally {
    elastiCache.destroy();
    ec2.destroy();
  }
}
