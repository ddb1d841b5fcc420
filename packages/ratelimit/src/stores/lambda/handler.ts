// The limiter function's handler: validates a request of store operations, runs them on a store
// (the Redis store, next to the cache) and answers one result per operation. Operations of one
// request run together, so the Redis store sends their checks to Redis as one call.
import { RateLimitStoreError } from '../../errors';
import type { Control, Store } from '../types';
import { type LambdaSessionsOptions, refusal, runSession, type SessionRedis, sessionsPrefix } from './sessions';
import { describeIssues, type Operation, request, WIRE_VERSION, type WireError, type WireResponse, type WireResult } from './wire';

export interface LambdaStoreHandlerOptions {
  /**
   * The store to run operations on (normally `createRedisStore()`), or a function that makes it on
   * the first invocation (after a secret is read, for example); a rejected promise fails that
   * invocation's operations and is tried again on the next one.
   */
  store: Store | (() => Store | Promise<Store>);
  /**
   * Receives each failure with its detail (Redis's own text included) for the function's logs; the
   * caller only ever gets a code and a short message of this handler's own.
   * @default ignored
   */
  /**
   * Serves the apps' server-side sessions too (for apps that reach Redis only through this
   * function): seven commands, on keys under `sessions.prefix` only.
   * @default no sessions: a session operation refuses its request with `BAD_REQUEST`
   */
  sessions?: LambdaSessionsOptions;
  onError?: (failure: { op: string; code: WireError['code']; error: unknown }) => void;
}

/** Handles one invocation: any JSON in, a {@link WireResponse} out. Never throws. */
export type LambdaStoreHandler = (event: unknown) => Promise<WireResponse>;

async function run(store: Store, o: Operation): Promise<unknown> {
  switch (o.op) {
    case 'evaluate':
      return store.evaluate({
        ...o,
        now: o.now ?? undefined,
        // the store's type names every rule; JSON leaves out those turned off
        anomaly: o.anomaly && { ...o.anomaly, rules: { burst: o.anomaly.rules.burst, denialStorm: o.anomaly.rules.denialStorm, costSpike: o.anomaly.rules.costSpike } },
      });
    case 'settle':
      return store.settle({
        ...o,
        costs: new Map(o.costs),
        now: o.now ?? undefined,
        anomaly: o.anomaly && { ...o.anomaly, rules: { burst: o.anomaly.rules.burst, denialStorm: o.anomaly.rules.denialStorm, costSpike: o.anomaly.rules.costSpike } },
      });
    case 'reset':
      await store.reset(o);
      return null;
    case 'inspect':
      return store.inspect(o.identifier, o.now ?? undefined);
    case 'controls':
      return [...(await store.controls())];
    case 'control':
      return (await store.control(o.identifier)) ?? null;
    case 'setControl':
      await store.setControl(o.identifier, (o.control as Control | null) ?? undefined);
      return null;
    case 'announce':
      await store.announce(o.identifier);
      return null;
    case 'addUsage':
      await store.addUsage(o.entries, { maxEntries: o.maxEntries });
      return null;
    case 'topUsage':
      return store.topUsage(o.board, o.count);
    case 'append':
      return store.append(o.stream, o.fields, { maxLength: o.maxLength, ...(o.identifier !== undefined && { identifier: o.identifier }), ...(o.ttlMs !== undefined && { ttlMs: o.ttlMs }) });
    case 'read':
      return store.read(o.stream, o.count, o.identifier);
    default:
      throw new Error(`${o.op} is not a store operation`);
  }
}

/** Creates the handler of the limiter function. */
export function createLambdaStoreHandler(options: LambdaStoreHandlerOptions): LambdaStoreHandler {
  const prefix = sessionsPrefix(options.sessions);
  let sessionRedis: Promise<SessionRedis> | undefined;
  const getSessionRedis = () => {
    const c = options.sessions!.client;
    // a failed set-up is tried again on the next call
    return (sessionRedis ??= Promise.resolve()
      .then(() => (typeof c === 'function' ? c() : c))
      .catch((error: unknown) => {
        sessionRedis = undefined;
        throw error;
      }));
  };
  let store: Store | undefined = typeof options.store === 'function' ? undefined : options.store;
  let making: Promise<Store> | undefined;
  const getStore = async () => {
    if (store) return store;
    const make = options.store as () => Store | Promise<Store>;
    making ??= Promise.resolve()
      .then(make)
      .finally(() => (making = undefined));
    return (store = await making);
  };
  const report = (op: string, code: WireError['code'], error: unknown) => {
    try {
      options.onError?.({ op, code, error });
    } catch {
      // logging must not change the answer
    }
  };
  const failed = (code: WireError['code'], message: string): WireResult => ({ ok: false, error: { code, message } });

  /** Any failure of a session command is Redis's (or the client's set-up): its text stays in the logs. */
  const runSessionOp = async (o: Operation): Promise<WireResult> => {
    try {
      return { ok: true, value: await runSession(await getSessionRedis(), o) };
    } catch (error) {
      report(o.op, 'STORE_UNAVAILABLE', error);
      return failed('STORE_UNAVAILABLE', `Redis failed or did not answer in time during ${o.op}`);
    }
  };

  return async (event) => {
    const version = typeof event === 'object' && event !== null ? (event as { v?: unknown }).v : undefined;
    if (version !== WIRE_VERSION) {
      return { v: WIRE_VERSION, error: { code: 'BAD_REQUEST', message: `wire version ${JSON.stringify(version) ?? 'missing'} is not spoken here; this function speaks version ${WIRE_VERSION}: deploy the app and the function from the same release` } };
    }
    const parsed = request.safeParse(event);
    if (!parsed.success) return { v: WIRE_VERSION, error: { code: 'BAD_REQUEST', message: `invalid request: ${describeIssues(parsed.error)}` } };
    const refused = refusal(parsed.data.ops, prefix);
    if (refused) return { v: WIRE_VERSION, error: { code: 'BAD_REQUEST', message: `invalid request: ${refused}` } };
    const ops = parsed.data.ops;
    if (ops.every((o) => o.op.startsWith('session'))) {
      // sessions only: the limiter's store need not be set up
      return { v: WIRE_VERSION, results: await Promise.all(ops.map(runSessionOp)) };
    }

    let s: Store;
    try {
      s = await getStore();
    } catch (error) {
      report('start', 'INTERNAL', error);
      const down = failed('STORE_UNAVAILABLE', 'the function could not set up its Redis store; see its logs');
      return { v: WIRE_VERSION, results: await Promise.all(ops.map((o) => (o.op.startsWith('session') ? runSessionOp(o) : Promise.resolve(down)))) };
    }
    const results = await Promise.all(
      ops.map(async (o): Promise<WireResult> => {
        if (o.op.startsWith('session')) return runSessionOp(o);
        try {
          return { ok: true, value: await run(s, o) };
        } catch (error) {
          if (error instanceof RateLimitStoreError) {
            report(o.op, 'STORE_UNAVAILABLE', error);
            // the store's message may carry Redis's own text: the caller gets ours
            return failed('STORE_UNAVAILABLE', `Redis failed or did not answer in time during ${o.op}`);
          }
          report(o.op, 'INTERNAL', error);
          return failed('INTERNAL', `${o.op} failed inside the function; see its logs`);
        }
      }),
    );
    return { v: WIRE_VERSION, results };
  };
}
