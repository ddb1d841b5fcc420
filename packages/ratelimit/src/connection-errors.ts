// Names why a Redis connection fails (TLS certificate, host name, TLS on one side only, AUTH), in
// the client's error events and in the errors of the commands it could not send, instead of
// ioredis's "Reached the max retries per request limit" or "Command timed out". Messages name the
// variable to fix and the host and port, never a password.
import net from 'node:net';
import tls from 'node:tls';

import type { Cluster, Redis } from 'ioredis';

/** What the messages need to know of the connection (no secret is ever read from it). */
export interface DiagnosedTarget {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly username: string | undefined;
  readonly caFile?: string | undefined;
}

/** Why a connection failed, when it is a misconfiguration. */
export type RedisConnectionFailure = 'TLS_CERTIFICATE' | 'TLS_HOST_NAME' | 'TLS_TO_PLAIN_PORT' | 'PLAIN_TO_TLS_PORT' | 'AUTH_WRONG' | 'AUTH_MISSING' | 'AUTH_UNEXPECTED';

/** A connection failure with its cause named; the client's own error is its `cause`, and its `code` is kept. */
export class RedisConnectionError extends Error {
  override name = 'RedisConnectionError';
  /** The client error's code (`SELF_SIGNED_CERT_IN_CHAIN`, `ECONNRESET`...), if it had one. */
  readonly code: string | undefined;
  constructor(
    message: string,
    readonly reason: RedisConnectionFailure,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    const code = (options.cause as { code?: unknown } | undefined)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

const CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
]);

const plainToTls = (t: DiagnosedTarget, error?: Error) =>
  new RedisConnectionError(
    `Redis at ${t.host}:${t.port} speaks TLS and this client sent plain text: use rediss:// or set REDIS_TLS=true`,
    'PLAIN_TO_TLS_PORT',
    { cause: error },
  );

const tlsToPlain = (t: DiagnosedTarget, error?: Error) =>
  new RedisConnectionError(
    `Redis at ${t.host}:${t.port} speaks plain text and this client sent TLS: use redis:// or set REDIS_TLS=false`,
    'TLS_TO_PLAIN_PORT',
    { cause: error },
  );

/** The named cause of a client error, when it is one of the misconfigurations above. */
export function diagnose(error: unknown, t: DiagnosedTarget): RedisConnectionError | undefined {
  if (!(error instanceof Error)) return undefined;
  if (error instanceof RedisConnectionError) return error;
  const code = (error as { code?: unknown }).code;
  const message = error.message;
  const where = `${t.host}:${t.port}`;
  if (typeof code === 'string' && CERTIFICATE_CODES.has(code)) {
    const fix = t.caFile
      ? "the CA in REDIS_TLS_CA_FILE did not sign the server's certificate: point it at the CA that did"
      : "no CA this process trusts signed the server's certificate: set REDIS_TLS_CA_FILE to the PEM of the CA that did";
    return new RedisConnectionError(`TLS certificate verification failed for Redis at ${where} (${code}): ${fix}`, 'TLS_CERTIFICATE', { cause: error });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new RedisConnectionError(
      `TLS host name mismatch: the certificate of Redis at ${where} does not name '${t.host}': connect with a host name the certificate lists (ElastiCache: the endpoint it shows)`,
      'TLS_HOST_NAME',
      { cause: error },
    );
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|unknown protocol/i.test(message)) return tlsToPlain(t, error);
  if (message.startsWith('WRONGPASS')) {
    const vars = t.username ? 'REDIS_USERNAME and REDIS_AUTH_TOKEN / REDIS_PASSWORD (or the URL)' : 'REDIS_AUTH_TOKEN / REDIS_PASSWORD (or the password in REDIS_URL)';
    return new RedisConnectionError(`Redis at ${where} refused the user name or password (WRONGPASS): check ${vars}`, 'AUTH_WRONG', { cause: error });
  }
  if (message.startsWith('NOAUTH')) {
    return new RedisConnectionError(`Redis at ${where} requires a password and none was sent (NOAUTH): set REDIS_AUTH_TOKEN or REDIS_PASSWORD`, 'AUTH_MISSING', { cause: error });
  }
  if (/AUTH.*without any password configured/i.test(message)) {
    return new RedisConnectionError(`Redis at ${where} has no password but one was sent: unset REDIS_AUTH_TOKEN / REDIS_PASSWORD, or configure the server's`, 'AUTH_UNEXPECTED', {
      cause: error,
    });
  }
  return undefined;
}

/** Whether `host:port` completes a TLS handshake (any certificate), within `ms`. */
function speaksTls(t: DiagnosedTarget, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: t.host, port: t.port, rejectUnauthorized: false, ...(net.isIP(t.host) === 0 && { servername: t.host }) });
    const done = (value: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether `host:port` answers a plain-text PING like a Redis server (PONG or an error reply), within `ms`. */
function speaksPlainRedis(t: DiagnosedTarget, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port });
    const done = (value: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(/^[+-]/.test(data.toString('latin1'))));
    socket.once('error', () => done(false));
  });
}

const PROBE_EVERY_MS = 30_000;

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;
type Send = (command: { reject: (error: Error) => void }, ...rest: unknown[]) => unknown;

/**
 * Makes `client` name the cause of its connection failures: error events (`error`, and a
 * cluster's `node error`) carry a {@link RedisConnectionError}, and so do the commands it fails
 * while not connected. A connection reset or timeout before the client was ever ready is checked
 * once in a while by a probe of the port (does it speak TLS? plain Redis?). Costs nothing while
 * connected: commands sent on a ready connection are left alone.
 */
export function nameConnectionFailures(client: Redis | Cluster, t: DiagnosedTarget): void {
  let cause: RedisConnectionError | undefined;
  let everReady = false;
  let lastProbe = 0;
  const emit = client.emit.bind(client) as Emit;

  const probe = (error: Error) => {
    if (everReady || Date.now() - lastProbe < PROBE_EVERY_MS) return;
    lastProbe = Date.now();
    const check = t.tls ? speaksPlainRedis(t, 1000) : speaksTls(t, 1000);
    void check.then((mismatch) => {
      if (!mismatch || everReady) return;
      cause = t.tls ? tlsToPlain(t, error) : plainToTls(t, error);
      emit('error', cause);
    });
  };

  client.on('ready', () => {
    everReady = true;
    cause = undefined;
  });
  (client as { emit: Emit }).emit = (event, ...args) => {
    if ((event === 'error' || event === 'node error') && args[0] instanceof Error) {
      const named = diagnose(args[0], t);
      if (named) cause = named;
      // nothing listens, or no such host: another cause, which the error names itself
      else if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(String((args[0] as { code?: string }).code))) cause = undefined;
      else if (/ECONNRESET|ETIMEDOUT|Connection is closed|socket hang up/i.test(`${(args[0] as { code?: string }).code} ${args[0].message}`)) probe(args[0]);
      args[0] = named ?? (cause && event === 'error' ? new RedisConnectionError(cause.message, cause.reason, { cause: args[0] }) : args[0]);
    }
    return emit(event, ...args);
  };
  // the store's subscriber is a duplicate: it names its failures too
  const duplicate = client.duplicate.bind(client) as (...args: unknown[]) => Redis | Cluster;
  (client as { duplicate: unknown }).duplicate = (...args: unknown[]) => {
    const copy = duplicate(...args);
    nameConnectionFailures(copy, t);
    return copy;
  };
  const send = client.sendCommand.bind(client) as Send;
  (client as unknown as { sendCommand: Send }).sendCommand = (command, ...rest) => {
    if (client.status !== 'ready') {
      const reject = command.reject;
      command.reject = (error) => {
        const named = diagnose(error, t) ?? (cause && new RedisConnectionError(cause.message, cause.reason, { cause: error }));
        reject(named ?? error);
      };
    }
    return send(command, ...rest);
  };
}
