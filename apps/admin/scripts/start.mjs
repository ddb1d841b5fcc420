#!/usr/bin/env node
// `pnpm start` (and the root `npm start`): the built admin app in production mode on PORT
// (default 3001, beside the web app on 3000), with the demo admin account on unless DEMO_ADMIN
// says otherwise, on loopback only in the demo (BIND_HOST). Redis when REDIS_URL or ELASTICACHE_REDIS_HOST is set, else the in-memory store.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);
const next = require.resolve('next/dist/bin/next');
// PORT is the web app's when both start from the root: the admin app has its own variable
const port = process.env.ADMIN_PORT || '3001';
const env = { DEMO_ADMIN: 'true', NEXT_TELEMETRY_DISABLED: '1', ...process.env };
// the demo has a published password (and demo sign-in): it listens on this machine only unless
// BIND_HOST says otherwise (BIND_HOST=0.0.0.0 for every interface)
const demo = !/^(0|false|no|off)$/i.test(env.DEMO_ADMIN);
const host = process.env.BIND_HOST || (demo ? '127.0.0.1' : '0.0.0.0');
const child = spawn(process.execPath, [next, 'start', '--port', port, '--hostname', host, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
