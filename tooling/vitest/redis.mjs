// Real Redis servers for tests: finds the one on 127.0.0.1:6379, or starts what is needed
// (a standalone server, a cluster) on free loopback ports. Node built-ins only, so the
// bootstrap script can use it before anything is installed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const INSTALL_HINT =
  'redis-server was not found. Install Redis 7 and run the tests again:\n' +
  '  Debian/Ubuntu: sudo apt-get install -y redis-server redis-tools\n' +
  '  macOS:         brew install redis\n' +
  'or point REDIS_URL at a Redis >= 6.2 you own (its keys are prefixed per test run, never flushed).';

/** Whether an executable is on PATH. */
export function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Sends one command (inline protocol) and resolves with the raw reply text, or rejects. */
export function rawCommand({ host = '127.0.0.1', port, timeoutMs = 1000 }, ...args) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let data = '';
    const done = (err, value) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const timer = setTimeout(() => done(new Error(`no reply from ${host}:${port} in ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(args.join(' ') + '\r\n'));
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      if (data.startsWith('$')) {
        const header = data.indexOf('\r\n');
        const length = Number(data.slice(1, header));
        if (length < 0 || data.length >= header + 2 + length + 2) done(null, data.slice(header + 2, header + 2 + Math.max(length, 0)));
      } else if (data.endsWith('\r\n')) {
        if (data.startsWith('-')) done(new Error(data.slice(1).trim()));
        else done(null, data.slice(1).trim());
      }
    });
    socket.on('error', (err) => done(err));
  });
}

export async function isUp(host, port) {
  try {
    return (await rawCommand({ host, port, timeoutMs: 500 }, 'PING')) === 'PONG';
  } catch {
    return false;
  }
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports (and their cluster bus ports, +10000) in 20000-29999. */
export async function freePorts(count) {
  for (let attempt = 0; attempt < 200; attempt++) {
    const start = 20000 + Math.floor(Math.random() * (10000 - count));
    const ports = Array.from({ length: count }, (_, i) => start + i);
    const checks = await Promise.all(ports.flatMap((p) => [portIsFree(p), portIsFree(p + 10000)]));
    if (checks.every(Boolean)) return ports;
  }
  throw new Error('no free loopback ports found for test Redis servers');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

const children = new Set();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * Starts one redis-server on loopback in a fresh folder. Extra `args` are passed through
 * (for example TLS or cluster settings). Resolves once it answers PING (or, with TLS, once the
 * port accepts connections).
 */
export async function startServer({ port, args = [], name = 'redis', tls = false } = {}) {
  if (!has('redis-server')) throw new Error(INSTALL_HINT);
  return onFreePort(port, (p) => startServerOn(p, args, name, tls));
}

/**
 * Runs `start` on `given`, or on a free port: a port found free can be taken before the server
 * binds it (another test's server, an outgoing connection), and is then retried on a new one. A
 * port the caller chose is tried once.
 */
async function onFreePort(given, start) {
  for (let attempt = 1; ; attempt++) {
    const port = given ?? (await freePorts(1))[0];
    try {
      return await start(port);
    } catch (error) {
      if (given !== undefined || attempt >= 3 || !/Address already in use/.test(String(error?.message))) throw error;
    }
  }
}

async function startServerOn(port, args, name, tls) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-${port}-`));
  const child = spawn(
    'redis-server',
    ['--port', tls ? '0' : String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  // redis-server logs to stdout: keep the tail, so a failed start says why (a port taken, ...)
  let stderr = '';
  const keep = (c) => (stderr = (stderr + c).slice(-2000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await Promise.race([
    waitFor(`redis-server on port ${port}`, () => (tls ? portIsFree(port).then((free) => !free) : isUp('127.0.0.1', port))),
    exited.then((code) => {
      throw new Error(`redis-server on port ${port} exited with ${code}: ${stderr}`);
    }),
  ]);
  if (tls) {
    // a taken port is all a TLS server shows without a handshake: make sure it is this server's
    await Promise.race([
      sleep(200),
      exited.then((code) => {
        throw new Error(`redis-server on port ${port} exited with ${code}: ${stderr}`);
      }),
    ]);
  }
  return {
    host: '127.0.0.1',
    port,
    pid: child.pid,
    dir,
    /** Stops the server (SIGTERM, then SIGKILL) and removes its folder. */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(3000)]);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      children.delete(child);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    /** Kills the process at once, as a crash would. */
    kill() {
      child.kill('SIGKILL');
      return exited;
    },
  };
}

/**
 * Writes a throwaway CA and a server certificate for localhost / 127.0.0.1 / ::1 (or `altNames`,
 * openssl's subjectAltName syntax) into `dir` with openssl. Valid for 2 days: long enough for a test run, useless if it leaks.
 */
export function makeTestCertificates(dir, { altNames = 'DNS:localhost,IP:127.0.0.1,IP:::1' } = {}) {
  if (!has('openssl')) {
    throw new Error('openssl was not found; TLS tests need it. Debian/Ubuntu: sudo apt-get install -y openssl');
  }
  const file = (name) => path.join(dir, name);
  fs.writeFileSync(
    file('ca.cnf'),
    '[req]\ndistinguished_name=dn\nprompt=no\nx509_extensions=v3_ca\n[dn]\nCN=airl test CA\n' +
      '[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n',
  );
  fs.writeFileSync(
    file('server.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' +
      `extendedKeyUsage=serverAuth\nsubjectAltName=${altNames}\n`,
  );
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const steps = [
    ['req', '-x509', '-config', file('ca.cnf'), ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2'],
    ['req', ...ec, '-subj', '/CN=localhost', '-keyout', file('server.key'), '-out', file('server.csr')],
    ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
      '-out', file('server.crt'), '-days', '2', '-extfile', file('server.ext')],
  ];
  for (const args of steps) {
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  }
  return { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') };
}

/**
 * Starts a redis-server that speaks only TLS on a free loopback port, with a throwaway CA
 * (see makeTestCertificates). Clients need no certificate of their own. Connect with
 * `rediss://127.0.0.1:<port>` (or `localhost`) trusting `caFile`; with `password`, AUTH is required;
 * `altNames` replaces the names the certificate carries (to test a host name mismatch).
 */
export async function startTlsServer({ port, password, args = [], altNames } = {}) {
  if (!has('redis-server')) throw new Error(INSTALL_HINT);
  const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-tls-certs-'));
  let server;
  try {
    const certs = makeTestCertificates(certDir, { altNames });
    server = await onFreePort(port, (p) =>
      startServerOn(
        p,
        [
          '--tls-port', String(p),
          '--tls-cert-file', certs.certFile,
          '--tls-key-file', certs.keyFile,
          '--tls-ca-cert-file', certs.caFile,
          '--tls-auth-clients', 'no',
          ...(password ? ['--requirepass', password] : []),
          ...args,
        ],
        'redis-tls',
        true,
      ),
    );
    const started = server;
    port = started.port;
    return {
      ...started,
      ...certs,
      url: `rediss://127.0.0.1:${port}`,
      /** Stops the server and removes its folder and the certificates. */
      async stop() {
        await started.stop();
        fs.rmSync(certDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server?.stop();
    fs.rmSync(certDir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Starts a Redis Cluster on loopback: `masters` masters, each with `replicas` replicas.
 * Resolves when every node reports cluster_state:ok.
 */
export async function startCluster({ masters = 3, replicas = 0, args = [] } = {}) {
  if (!has('redis-cli')) throw new Error(INSTALL_HINT);
  const count = masters * (1 + replicas);
  const { ports, servers } = await startNodes(count, args);
  const created = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (created.status !== 0) {
    await Promise.all(servers.map((s) => s.stop()));
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}\n${created.stderr}`);
  }
  await waitFor(
    'cluster_state:ok on every node',
    async () => {
      const infos = await Promise.all(ports.map((port) => rawCommand({ port }, 'CLUSTER', 'INFO').catch(() => '')));
      return infos.every((info) => info.includes('cluster_state:ok'));
    },
    20000,
  );
  if (replicas > 0) {
    // a replica that has not synced with its master refuses to take over: wait for every link
    await waitFor(
      'every replica in sync with its master',
      async () => {
        const infos = await Promise.all(ports.map((port) => rawCommand({ port }, 'INFO', 'replication').catch(() => '')));
        return infos.filter((info) => info.includes('role:slave') && info.includes('master_link_status:up')).length === masters * replicas;
      },
      20000,
    );
  }
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    servers,
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/**
 * Starts `count` cluster-enabled servers on consecutive free ports. A port found free can be
 * taken before the server binds it (another process's outgoing connection, or its bus port at
 * +10000): then every server of the attempt is stopped and new ports are tried.
 */
async function startNodes(count, args, attempts = 3) {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(count);
    const started = await Promise.allSettled(
      ports.map((port) =>
        startServer({
          port,
          name: 'redis-cluster',
          args: ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000', ...args],
        }),
      ),
    );
    const servers = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (!failed) return { ports, servers };
    await Promise.all(servers.map((s) => s.stop()));
    if (attempt >= attempts) throw failed.reason;
  }
}

/** A key prefix for one test run; {@link deleteKeys} removes what the run wrote. */
export function runPrefix() {
  return `test-${Math.random().toString(36).slice(2, 8)}`;
}

/** Parses `REDIS_CLUSTER_NODES` ("host:port,host:port"). */
export function parseNodes(value) {
  return value
    .split(',')
    .filter(Boolean)
    .map((hp) => {
      const i = hp.lastIndexOf(':');
      return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    });
}

/**
 * Resolves a Redis URL for tests: `REDIS_URL` if set (it must answer), else 127.0.0.1:6379 if
 * it answers, else a server started here. Throws with install instructions when none can be had.
 */
export async function ensureRedis() {
  if (process.env.REDIS_URL) {
    const url = new URL(process.env.REDIS_URL);
    const port = Number(url.port || 6379);
    if (url.protocol === 'redis:' && !(await isUp(url.hostname, port))) {
      throw new Error(`REDIS_URL=${url.protocol}//${url.hostname}:${port} does not answer PING. Start it, or unset REDIS_URL.`);
    }
    return { url: process.env.REDIS_URL, stop: async () => {} };
  }
  if (await isUp('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', stop: async () => {} };
  const server = await startServer();
  return { url: `redis://127.0.0.1:${server.port}`, stop: () => server.stop() };
}
