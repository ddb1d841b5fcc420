// The connection doctor's command line, as a function: the program (cli.ts) and the tests call it.
// Exit 0: fine; 1: warnings and --strict; 2: a failure (or bad arguments).
import { parseArgs } from 'node:util';

import { exitCodeFor } from '../checks';
import { runDoctor } from './doctor';
import { formatReport } from './format';

export const USAGE = `usage: airl-doctor [--json] [--strict] [--iterations N] [--goal-ms MS] [--deadline-ms MS]

Checks the Redis that the environment points at, as the app would connect:
  REDIS_URL (redis:// or rediss://), or ELASTICACHE_REDIS_HOST / REDIS_HOST with
  ELASTICACHE_REDIS_PORT / REDIS_PORT; REDIS_TLS, REDIS_USERNAME, REDIS_PASSWORD or
  REDIS_AUTH_TOKEN, REDIS_CLUSTER; REDIS_TLS_CA_FILE (PEM) for a private CA.

  --json          print the report as JSON on stdout
  --strict        exit 1 on warnings (default: warnings exit 0)
  --iterations N  rounds of PING/SET/GET/DEL to time (default 100)
  --goal-ms MS    p99 goal per operation (default 10)
  --deadline-ms MS  the whole run's bound: past it, a 'deadline' failure (default 30000)

exit codes: 0 ok, 1 warnings with --strict, 2 failure. A deploy step must run it as
  node packages/ops/bin/airl-doctor.js ...
(\`pnpm run\` turns every non-zero exit into 1, so 2 would read as a warning).
`;

/** Runs the CLI; resolves with the exit code. `write` receives everything printed on stdout. */
export async function doctorMain(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  write: (text: string) => void,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        iterations: { type: 'string' },
        'goal-ms': { type: 'string' },
        'deadline-ms': { type: 'string' },
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
  const iterations = values.iterations === undefined ? undefined : Number(values.iterations);
  const goalMs = values['goal-ms'] === undefined ? undefined : Number(values['goal-ms']);
  const deadlineMs = values['deadline-ms'] === undefined ? undefined : Number(values['deadline-ms']);
  if (
    (iterations !== undefined && !(Number.isSafeInteger(iterations) && iterations >= 1)) ||
    (goalMs !== undefined && !(goalMs > 0)) ||
    (deadlineMs !== undefined && !(Number.isSafeInteger(deadlineMs) && deadlineMs >= 100))
  ) {
    write(`--iterations must be a whole number >= 1, --goal-ms a number > 0 and --deadline-ms a whole number >= 100\n\n${USAGE}`);
    return 2;
  }
  const report = await runDoctor({ env, iterations, goalMs, deadlineMs });
  const code = exitCodeFor(report.status, values.strict);
  write(values.json ? `${JSON.stringify({ ...report, exitCode: code }, null, 2)}\n` : formatReport(report, code));
  return code;
}
