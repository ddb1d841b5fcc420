// `airl-doctor` (bin/airl-doctor.js): the connection doctor for a shell or a deploy step.
import process from 'node:process';

import { doctorMain } from './main';

const code = await doctorMain(process.argv.slice(2), process.env, (text) => process.stdout.write(text));
// exit now, with the report's code, once stdout is flushed: nothing left open may hold the step
process.stdout.write('', () => process.exit(code));
