#!/usr/bin/env node
// `pnpm start` (and the root `npm start`): the built admin app in production mode on PORT
// (default 3001, beside the web app on 3000), with the demo admin account on unless DEMO_ADMIN
// says otherwise. Redis when REDIS_URL or ELASTICACHE_REDIS_HOST is set, else the in-memory store.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);
const next = require.resolve('next/dist/bin/next');
// PORT is the web app's when both start from the root: the admin app has its own variable
const port = process.env.ADMIN_PORT || '3001';
const child = spawn(process.execPath, [next, 'start', '--port', port, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { DEMO_ADMIN: 'true', NEXT_TELEMETRY_DISABLED: '1', ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
