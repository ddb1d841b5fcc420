// Starts a built Next.js app of this repository (`next start`, production mode) on a free loopback
// port and stops it, for the apps' HTTP and browser tests. Builds the app first when it has no
// build (in a turbo run, each app's `test` task has built it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

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

const nextBin = (dir: string) => path.join(dir, 'node_modules/next/dist/bin/next');

function ensureBuilt(dir: string) {
  if (fs.existsSync(path.join(dir, '.next/BUILD_ID'))) return;
  const result = spawnSync(process.execPath, [nextBin(dir), 'build'], { cwd: dir, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  if (result.status !== 0) throw new Error(`next build failed in ${dir}: the app tests need a build (pnpm --dir ${dir} build)`);
}

export interface RunningApp {
  readonly url: string;
  /** What the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts the app in `dir` with `env` added to this process's; resolves once /api/health answers. */
export async function startNextApp(dir: string, env: Record<string, string>): Promise<RunningApp> {
  ensureBuilt(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(process.execPath, [nextBin(dir), 'start', '--port', String(port), '--hostname', '127.0.0.1'], {
    cwd: dir,
    env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1', ...env },
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
    if (child.exitCode !== null) throw new Error(`the app in ${dir} exited with ${child.exitCode} before answering:\n${output}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the app in ${dir} did not answer ${url}/api/health within 120 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, output: () => output, stop };
}
