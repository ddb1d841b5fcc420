// `pnpm doctor` / `airl-doctor`: the connection doctor for a shell or a deploy step.
import process from 'node:process';

import { doctorMain } from './main';

process.exitCode = await doctorMain(process.argv.slice(2), process.env, (text) => process.stdout.write(text));
