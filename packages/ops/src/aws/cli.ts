// `pnpm run aws-check` / `airl-aws-check`: the AWS checks for a shell or a deploy step.
import process from 'node:process';

import { awsCheckMain } from './main';

process.exitCode = await awsCheckMain(process.argv.slice(2), (text) => process.stdout.write(text));
