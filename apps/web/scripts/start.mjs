#!/usr/bin/env node
// `pnpm start` (and the root `npm start`): the built app in production mode, with demo sign-in on
// unless DEMO_SIGN_IN says otherwise, on PORT (default 3000). Redis when REDIS_URL or
// ELASTICACHE_REDIS_HOST is set, else the in-memory store.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);
const next = require.resolve('next/dist/bin/next');
const port = process.env.PORT || '3000';
const child = spawn(process.execPath, [next, 'start', '--port', port, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { DEMO_SIGN_IN: 'true', NEXT_TELEMETRY_DISABLED: '1', ...process.env },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
