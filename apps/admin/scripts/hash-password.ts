// `pnpm --filter @airl/admin hash-password <name>`: asks for a password (twice, not echoed) and
// prints the ADMIN_USERS entry. With the password on standard input (not a terminal), reads one
// line instead: `printf '%s\n' "$PW" | pnpm --filter @airl/admin hash-password alice`.
import process from 'node:process';
import { createInterface } from 'node:readline';

import { normalizeName } from '../src/server/accounts';
import { hashPassword, MAX_PASSWORD_LENGTH } from '../src/server/passwords';

function fail(message: string): never {
  process.stderr.write(`✖ ${message}\n`);
  process.exit(1);
}

/** One line from a terminal without echoing it. */
function askHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const c of chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (c === '\u0003') fail('cancelled');
        if (c === '\u007f') value = value.slice(0, -1);
        else value += c;
      }
    };
    stdin.on('data', onData);
  });
}

async function firstLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) return line;
  return '';
}

const name = normalizeName(process.argv[2] ?? '');
if (!/^[a-z0-9][a-z0-9._@-]{0,63}$/.test(name)) fail('usage: pnpm --filter @airl/admin hash-password <name>  (1 to 64 lower-case letters, digits, . _ @ -)');

let password: string;
if (process.stdin.isTTY) {
  password = await askHidden(`Password for ${name}: `);
  if ((await askHidden('Again: ')) !== password) fail('the two passwords differ');
} else {
  password = await firstLine();
}
if (password.length < 12) fail('use at least 12 characters');
if (password.length > MAX_PASSWORD_LENGTH) fail(`use at most ${MAX_PASSWORD_LENGTH} characters`);

const entry = `${name}:${await hashPassword(password)}`;
process.stdout.write(
  `${entry}\n\n` +
    '# Add it to ADMIN_USERS (entries separated by spaces or ;). In a shell, single-quote it:\n' +
    `#   export ADMIN_USERS='${entry}'\n` +
    '# In a .env file (apps/admin/.env.local), write each $ as \\$:\n' +
    `#   ADMIN_USERS=${entry.replaceAll('$', '\\$')}\n`,
);
