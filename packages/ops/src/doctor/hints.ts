// What the doctor tells the operator: a hint to fix each kind of failure, and no secret.
import type { RedisConnectionConfig } from '@airl/ratelimit/redis';

export const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
const errorCode = (error: unknown) => (error as { code?: unknown } | undefined)?.code;

const CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

/** What to try when talking to Redis failed, from the error. */
export function connectionHint(error: unknown, config: RedisConnectionConfig): string {
  const text = errorText(error);
  const code = errorCode(error);
  const where = `${config.host}:${config.port}`;
  if (/\bOOM\b|used memory > 'maxmemory'/.test(text)) return OUT_OF_MEMORY;
  if (/cluster support disabled/i.test(text)) return NOT_A_CLUSTER;
  if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(text)) {
    return 'Redis refused the credentials: check REDIS_PASSWORD or REDIS_AUTH_TOKEN (and REDIS_USERNAME for an ACL user), or the password in REDIS_URL.';
  }
  if (typeof code === 'string' && CERT_CODES.has(code)) {
    return "the server's TLS certificate is not trusted or does not name this host: set REDIS_TLS_CA_FILE to the PEM file of the CA that signed it (ElastiCache's certificates need none), and connect by the name the certificate carries.";
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long/i.test(text)) {
    return `${where} does not speak TLS: use redis:// and unset REDIS_TLS, or point at the TLS port.`;
  }
  if (code === 'ECONNREFUSED') {
    return `nothing listens on ${where}: check the host and port (ELASTICACHE_REDIS_PORT / REDIS_PORT, default 6379) and that the server runs.`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `the host name ${config.host} does not resolve: check REDIS_URL / REDIS_HOST (an ElastiCache endpoint looks like <name>.xxxxxx.ng.0001.use1.cache.amazonaws.com).`;
  }
  if (!config.tls && /ECONNRESET|Connection is closed|socket hang up/i.test(`${String(code)} ${text}`)) {
    return 'the server closed the connection at once: it may require TLS (ElastiCache with in-transit encryption does). Use rediss:// or set REDIS_TLS=true.';
  }
  return `no answer from ${where}. From AWS: the cache's security group must admit the app's security group on ${config.port}, and the app must run inside the cache's VPC (Amplify Hosting compute cannot; see docs/aws-deployment.md). Also check REDIS_TLS matches the cache's in-transit encryption.`;
}

export const OUT_OF_MEMORY =
  "Redis is out of memory: used_memory reached maxmemory and the policy (noeviction) refuses writes, so every limit check fails and the limiter's failure policy answers. Scale up the node type or add shards (docs/runbooks/scaling.md), or find what fills it (redis-cli --bigkeys); do not switch to an evicting policy (an evicted window is free quota).";
export const NOT_A_CLUSTER = 'REDIS_CLUSTER is true but the server is a single server (cluster mode off): unset REDIS_CLUSTER (or set it to false), or point at a cluster-mode configuration endpoint.';
export const IS_A_CLUSTER = 'the server runs in cluster mode: set REDIS_CLUSTER=true and point at the configuration endpoint (stack output RedisHost).';

/** Replaces every occurrence of `secret` (and its URL-encoded form) in every string of `value`. */
export function redact<T>(value: T, secret: string | undefined): T {
  if (!secret) return value;
  const forms = [...new Set([secret, encodeURIComponent(secret)])];
  const clean = (v: unknown): unknown => {
    if (typeof v === 'string') return forms.reduce((s, f) => s.split(f).join('***'), v);
    if (Array.isArray(v)) return v.map(clean);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clean(x)]));
    return v;
  };
  return clean(value) as T;
}
