// The limiter function's code, as deployed by LimiterFunction (bundled by esbuild at synth): the
// store handler of @airl/ratelimit on the Redis store, next to the cache. The AUTH token is read
// from Secrets Manager on the first invocation (a cold start), never from the environment, and kept
// in memory only. The same client serves the apps' server-side sessions (a closed list of
// commands, on keys under `<RATE_LIMIT_PREFIX>-sessions:` only).
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { createLambdaStoreHandler, type LambdaStoreHandler } from '@airl/ratelimit/lambda-handler';
import { createRedisClient, createRedisStore, redisConfigFromEnv } from '@airl/ratelimit/redis';

/** What the function reads from its environment (set by LimiterFunction). */
export interface LimiterFunctionEnv {
  readonly REDIS_HOST?: string;
  readonly REDIS_PORT?: string;
  readonly REDIS_TLS?: string;
  readonly REDIS_CLUSTER?: string;
  /** ARN of the secret holding the AUTH token (a plain string). */
  readonly REDIS_AUTH_TOKEN_SECRET_ARN?: string;
  /** Key prefix: the apps' `RATE_LIMIT_PREFIX`. */
  readonly RATE_LIMIT_PREFIX?: string;
  /** Longest a Redis call may take, in ms. */
  readonly REDIS_TIMEOUT_MS?: string;
  readonly [name: string]: string | undefined;
}

/** One JSON line per failure, for CloudWatch Logs: Redis's own text stays here, never reaches the caller. */
const log = (failure: { op: string; code: string; error: unknown }) =>
  console.error(JSON.stringify({ level: 'error', msg: 'limiter function failure', op: failure.op, code: failure.code, error: (failure.error as Error)?.message ?? String(failure.error) }));

/** Makes the handler from an environment; `secrets` is the Secrets Manager client to use (tests). */
export function createLimiterFunctionHandler(env: LimiterFunctionEnv = process.env, secrets?: () => SecretsManagerClient): LambdaStoreHandler {
  const timeoutMs = Number(env.REDIS_TIMEOUT_MS ?? 1000);
  const prefix = env.RATE_LIMIT_PREFIX || 'ratelimit';
  // one client for the limiter's store and the sessions; a failed set-up is tried again next time
  let connecting: Promise<ReturnType<typeof createRedisClient>> | undefined;
  const connect = () =>
    (connecting ??= (async () => {
      let password: string | undefined;
      if (env.REDIS_AUTH_TOKEN_SECRET_ARN) {
        const client = secrets?.() ?? new SecretsManagerClient({});
        try {
          const out = await client.send(new GetSecretValueCommand({ SecretId: env.REDIS_AUTH_TOKEN_SECRET_ARN }));
          password = out.SecretString;
        } finally {
          client.destroy();
        }
        if (!password) throw new Error('the AUTH token secret has no string value');
      }
      const config = redisConfigFromEnv({ ...env, REDIS_AUTH_TOKEN: password, REDIS_PASSWORD: undefined, REDIS_URL: undefined });
      if (!config) throw new Error('REDIS_HOST is not set');
      return createRedisClient(config, { commandTimeout: timeoutMs });
    })().catch((error: unknown) => {
      connecting = undefined;
      throw error;
    }));
  return createLambdaStoreHandler({
    onError: log,
    store: async () => createRedisStore({ client: await connect(), prefix, timeout: timeoutMs }),
    // the apps' sessions live under `<prefix>-sessions:web` and `<prefix>-sessions:admin`
    sessions: { prefix: `${prefix}-sessions:`, client: connect },
  });
}

/** The function's entry point (`index.handler`). */
export const handler: LambdaStoreHandler = createLimiterFunctionHandler();
