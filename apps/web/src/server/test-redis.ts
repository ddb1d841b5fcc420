// GET /api/test-redis with the legacy response shape (PING, SET, GET, DEL, version, each step
// retried with backoff), minus the legacy leaks: it needs a bearer token in production, and never
// shows a password, user name or URL.
import 'server-only';

import { randomUUID, timingSafeEqual } from 'node:crypto';

import type { RedisClient } from '@airl/ratelimit/redis';

import type { App } from './app';

const TROUBLESHOOTING = {
  possibleCauses: [
    'Security group: the cache must admit the app on port 6379 (or the TLS port)',
    'VPC access: the app must run in (or reach) the VPC of the cache',
    'The cache cluster is down, rebooting or being modified',
    'Network: DNS of the endpoint, routes, NAT',
    'AUTH: REDIS_AUTH_TOKEN / REDIS_PASSWORD does not match, or TLS is off while the cache needs it',
    'Timeout: the cache is too far or overloaded',
  ],
  nextSteps: [
    'Run the connection doctor: pnpm --filter @airl/ops run doctor',
    'Check the variables in apps/web/.env.example against the app environment',
    'Check the cache status and the security group in the AWS console',
  ],
};

const CONNECTION_ERROR = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|Connection is closed|connect|timed? ?out|did not answer/i;

// the status and the type always agree: 403 FORBIDDEN (off here), 401 UNAUTHORIZED (token missing or wrong)
function authorized(req: Request, app: Pick<App, 'config'>): { ok: true } | { ok: false; status: 401 | 403; errorType: 'UNAUTHORIZED' | 'FORBIDDEN'; error: string } {
  if (!app.config.production) return { ok: true };
  const token = app.config.testRedisToken;
  if (!token) return { ok: false, status: 403, errorType: 'FORBIDDEN', error: 'Disabled in production: set TEST_REDIS_TOKEN and send it as a bearer token' };
  const given = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization') ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, status: 401, errorType: 'UNAUTHORIZED', error: 'A valid bearer token is required' };
  return { ok: true };
}

async function timed<T>(step: () => Promise<T>, attempts = 3): Promise<{ value: T; duration: string }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const started = performance.now();
    try {
      const value = await step();
      return { value, duration: `${Math.round(performance.now() - started)}ms` };
    } catch (error) {
      lastError = error;
      if (attempt < attempts - 1) await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
  throw lastError;
}

const headers = { 'Cache-Control': 'no-store' };

export async function testRedis(req: Request, app: Pick<App, 'config' | 'limiters'>): Promise<Response> {
  const meta = { timestamp: new Date().toISOString(), correlationId: randomUUID() };
  const auth = authorized(req, app);
  if (!auth.ok) return Response.json({ success: false, error: auth.error, errorType: auth.errorType, meta }, { status: auth.status, headers });

  const config = app.config.limiters.redis;
  const client = app.limiters.client();
  if (app.limiters.storage === 'lambda') {
    // this app holds no Redis connection: the limiter function does, inside the VPC
    return Response.json(
      {
        success: false,
        error: 'Redis is reached through the limiter function (RATE_LIMIT_LAMBDA); this endpoint tests a direct connection only; see the limiter function logs in CloudWatch',
        errorType: 'CONFIGURATION_ERROR',
        meta,
      },
      { status: 501, headers },
    );
  }
  if (!config || !client) {
    return Response.json(
      {
        success: false,
        error: 'No Redis is configured: set REDIS_URL, or ELASTICACHE_REDIS_HOST and ELASTICACHE_REDIS_PORT',
        errorType: 'CONFIGURATION_ERROR',
        troubleshooting: TROUBLESHOOTING,
        meta,
      },
      { status: 500, headers },
    );
  }

  const started = performance.now();
  const key = `test:connection:${Date.now()}:${meta.correlationId.slice(0, 8)}`;
  try {
    const c: RedisClient = client;
    const ping = await timed(() => c.ping());
    const set = await timed(() => c.set(key, 'success', 'EX', 60));
    const get = await timed(() => c.get(key));
    const del = await timed(() => c.del(key));
    const info = await timed(() => ('nodes' in c ? c.nodes('master')[0]!.info('server') : c.info('server')));
    const redisVersion = /redis_version:(\S+)/.exec(info.value)?.[1] ?? 'unknown';
    return Response.json(
      {
        success: true,
        connection: { host: config.host, port: String(config.port), tls: config.tls, cluster: config.cluster, redisVersion },
        tests: {
          ping: { result: ping.value, duration: ping.duration },
          set: { duration: set.duration },
          get: { value: get.value, duration: get.duration },
          delete: { duration: del.duration },
        },
        performance: { totalDuration: `${Math.round(performance.now() - started)}ms` },
        meta,
      },
      { headers },
    );
  } catch (error) {
    // never echo a message that could carry a URL with credentials
    const message = ((error as Error).message || 'unknown error').replace(/rediss?:\/\/\S+/g, 'redis://…');
    const connection = CONNECTION_ERROR.test(message);
    return Response.json(
      { success: false, error: message, errorType: connection ? 'CONNECTION_ERROR' : 'REDIS_ERROR', troubleshooting: TROUBLESHOOTING, meta },
      { status: connection ? 503 : 500, headers: { ...headers, ...(connection && { 'Retry-After': '60' }) } },
    );
  }
}
