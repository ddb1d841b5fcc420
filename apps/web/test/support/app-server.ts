// Starts the built app (`next start`, production mode) on a free loopback port for HTTP and
// browser tests, and stops it. Builds first when there is no build (turbo normally has built it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const NEXT_BIN = path.join(APP_DIR, 'node_modules/next/dist/bin/next');

/** The session secret test servers run with, so tests can sign sessions themselves. */
export const TEST_SESSION_SECRET = 'test-session-secret-0123456789-abcdefghij';
export const TEST_REDIS_TOKEN = 'test-redis-token-0123456789';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function ensureBuilt() {
  if (fs.existsSync(path.join(APP_DIR, '.next/BUILD_ID'))) return;
  const result = spawnSync(process.execPath, [NEXT_BIN, 'build'], { cwd: APP_DIR, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  if (result.status !== 0) throw new Error('next build failed: the app tests need a build (pnpm --filter @airl/web build)');
}

export interface RunningApp {
  readonly url: string;
  /** What the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the app with `env` added to this process's environment; resolves once /api/health answers. */
export async function startApp(env: Record<string, string>): Promise<RunningApp> {
  ensureBuilt();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [NEXT_BIN, 'start', '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: APP_DIR,
    env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', DEMO_SIGN_IN: 'true', SESSION_SECRET: TEST_SESSION_SECRET, TEST_REDIS_TOKEN, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  // generous: a cold start on a loaded 2-core machine can take a while
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode} before answering:\n${output}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the app did not answer ${url}/api/health within 120 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, output: () => output, stop };
}
