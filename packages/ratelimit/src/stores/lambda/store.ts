// A store that runs every operation in the limiter function (see ./handler.ts) through Lambda's
// Invoke API: for apps whose compute cannot reach Redis (Amplify Hosting cannot join a VPC), with
// the AWS SDK's own IAM signing as the only way in. Operations started in one tick go in one
// invocation; every invocation has a deadline; every failure is a RateLimitStoreError, so the
// limiter's failure policies apply as with Redis.
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';

import { type Duration, toMs } from '../../duration';
import { RateLimitConfigError, RateLimitStoreError } from '../../errors';
import type { Control, ControlStore, LimitingStore, StreamStore, UsageStore } from '../types';
import { createLambdaSessionClient, type LambdaSessionClient } from './sessions';
import { MAX_OPS, type Operation, type OperationName, response, type Value, values, WIRE_VERSION } from './wire';

export interface LambdaStoreOptions {
  /** The limiter function: its name, ARN or partial ARN, with `:alias` or `:version` if wanted. */
  functionName: string;
  /**
   * The Lambda client, or a function that makes one on first use. Pass one to set credentials,
   * an endpoint or retries; the store destroys it on `close()` only if it made it.
   * @default new LambdaClient({ region, maxAttempts: 2 }), credentials and region from the environment
   */
  client?: LambdaClient | (() => LambdaClient);
  /**
   * Region of the default client.
   * @default the region in `functionName` when it is an ARN, else the SDK's (AWS_REGION)
   */
  region?: string;
  /**
   * The longest one invocation may take, retries included, before its operations fail with
   * `RateLimitStoreError` (and the limiter's failure policy answers). A warm invocation takes a few
   * milliseconds plus the network; a cold start inside a VPC can take a second or more.
   * @default '2 s'
   */
  timeout?: Duration;
  /**
   * Operations started in the same tick of the event loop go in one invocation of up to this many
   * (the function runs them together: its checks reach Redis as one call). `1` turns batching off.
   * @default 64
   */
  batch?: number;
  /**
   * Lambda cannot push Redis's announcements to the app, so `listen()` asks the function for the
   * admins' controls this often and reports the identifiers whose control changed. Resets announced
   * by an admin are not seen this way (a deny cache entry lasts until its retry time). `false`
   * stops polling: controls then change only at the limiter's own `controls.refresh`.
   * @default '5 s'
   */
  listenInterval?: Duration | false;
}

// every concern: limiting, controls, usage boards, streams
export interface LambdaStore extends LimitingStore, ControlStore, UsageStore, StreamStore {
  readonly kind: 'lambda';
  /** The function this store invokes. */
  readonly functionName: string;
  /**
   * The apps' server-side sessions through the same function (its handler needs `sessions`),
   * batched and bounded like every operation: pass it as `client` of `createSessionStore`.
   */
  readonly sessions: LambdaSessionClient;
  /** Stops polling, and destroys the Lambda client if the store made it. */
  close(): Promise<void>;
}

type Pending = { op: Operation; resolve: (value: unknown) => void; reject: (error: unknown) => void };

/** Creates a store that invokes the limiter function. */
export function createLambdaStore(options: LambdaStoreOptions): LambdaStore {
  const functionName = options.functionName;
  // Lambda's own pattern for FunctionName, shortened: name, partial or full ARN, optional qualifier
  if (typeof functionName !== 'string' || !/^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?([0-9]{12}:)?(function:)?[A-Za-z0-9_-]{1,140}(:[A-Za-z0-9$_-]{1,128})?$/.test(functionName)) {
    throw new RateLimitConfigError(`functionName: '${String(functionName)}' is not a Lambda function name or ARN (letters, digits, - and _, or arn:aws:lambda:<region>:<account>:function:<name>)`);
  }
  const timeoutMs = toMs(options.timeout ?? '2 s', 'timeout');
  const batchMax = options.batch ?? 64;
  if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > MAX_OPS) {
    throw new RateLimitConfigError(`batch: ${String(options.batch)} must be a whole number of operations from 1 (no batching) to ${MAX_OPS}`);
  }
  const listenMs = options.listenInterval === false ? undefined : toMs(options.listenInterval ?? '5 s', 'listenInterval');
  const region = options.region ?? /^arn:[^:]+:lambda:([^:]+):/.exec(functionName)?.[1];
  const owned = typeof options.client !== 'object';
  let client: LambdaClient | undefined;
  const getClient = () =>
    (client ??=
      typeof options.client === 'object' ? options.client : typeof options.client === 'function' ? options.client() : new LambdaClient({ ...(region && { region }), maxAttempts: 2 }));

  /**
   * What the last invocation said of the path to Redis, for the limiter's breaker: an answer from
   * the function that reached Redis (true); a failure of the function, of the invocation or of
   * Redis behind it (false: an outage, answered by the failure policy at once); unknown before the
   * first answer. A timeout changes nothing: it may be slowness (a cold start), not an outage.
   */
  let reachable: boolean | undefined;
  /** The invocations' own timeouts, told apart from failures without reading messages. */
  const timedOut = new WeakSet<Error>();

  /** One invocation: a deadline, and every way it can fail turned into a RateLimitStoreError. */
  async function invoke(ops: readonly Operation[]): Promise<unknown[]> {
    try {
      const results = await invokeOnce(ops);
      reachable = !results.some((r) => r instanceof RateLimitStoreError);
      return results;
    } catch (error) {
      if (!timedOut.has(error as Error)) reachable = false;
      throw error;
    }
  }

  async function invokeOnce(ops: readonly Operation[]): Promise<unknown[]> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    timer.unref();
    const what = ops.length === 1 ? ops[0]!.op : `${ops.length} operations`;
    let payload: Uint8Array | undefined;
    try {
      const out = await getClient().send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify({ v: WIRE_VERSION, ops })) }), {
        abortSignal: abort.signal,
      });
      // the function threw, ran out of time or memory: its own text stays in its logs
      if (out.FunctionError) throw new RateLimitStoreError(`Lambda function ${functionName} failed (${out.FunctionError}) running ${what}; see its logs`);
      payload = out.Payload;
    } catch (error) {
      if (error instanceof RateLimitStoreError) throw error;
      if (abort.signal.aborted) {
        const late = new RateLimitStoreError(`Lambda function ${functionName} did not answer ${what} within ${timeoutMs} ms`, { cause: error });
        timedOut.add(late);
        throw late;
      }
      // the SDK's name says what went wrong (AccessDeniedException, ResourceNotFoundException...);
      // for a network failure, Node's code (ECONNREFUSED, ENOTFOUND...)
      const code = (error as { code?: unknown }).code;
      const kind = error instanceof Error && error.name !== 'Error' ? error.name : typeof code === 'string' && /^E[A-Z]+$/.test(code) ? code : 'Error';
      throw new RateLimitStoreError(`invoking Lambda function ${functionName} for ${what} failed: ${kind}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(payload));
    } catch (error) {
      throw new RateLimitStoreError(`Lambda function ${functionName} answered ${what} with something that is not JSON: is it the limiter function?`, { cause: error });
    }
    const parsed = response.safeParse(body);
    if (!parsed.success) throw new RateLimitStoreError(`Lambda function ${functionName} answered ${what} in an unknown format: is it the limiter function, of this release?`);
    const answer = parsed.data;
    if ('error' in answer) throw new RateLimitStoreError(`Lambda function ${functionName} refused ${what}: ${answer.error.code}: ${answer.error.message}`);
    if (answer.results.length !== ops.length) throw new RateLimitStoreError(`Lambda function ${functionName} answered ${answer.results.length} results for ${ops.length} operations`);
    return answer.results.map((r, i) => {
      const op = ops[i]!.op;
      if (!r.ok) return new RateLimitStoreError(`Lambda function ${functionName}: ${op}: ${r.error.code}: ${r.error.message}`);
      const value = values[op].safeParse(r.value);
      return value.success ? value.data : new RateLimitStoreError(`Lambda function ${functionName} answered ${op} in an unknown format`);
    });
  }

  // operations waiting for the end of this tick, to go in one invocation
  let queued: Pending[] = [];
  const flush = () => {
    const all = queued;
    queued = [];
    for (let from = 0; from < all.length; from += batchMax) {
      const calls = all.slice(from, from + batchMax);
      invoke(calls.map((c) => c.op)).then(
        (results) => calls.forEach((c, i) => (results[i] instanceof RateLimitStoreError ? c.reject(results[i]) : c.resolve(results[i]))),
        (error: unknown) => calls.forEach((c) => c.reject(error)),
      );
    }
  };
  function call<O extends OperationName>(op: Extract<Operation, { op: O }>): Promise<Value<O>> {
    return new Promise((resolve, reject) => {
      queued.push({ op, resolve: resolve as (v: unknown) => void, reject });
      if (queued.length === 1) process.nextTick(flush);
    });
  }

  // listen(): polling the controls, since Lambda cannot push
  const listeners = new Set<(identifier: string | undefined) => void>();
  let poller: NodeJS.Timeout | undefined;
  let seen = new Map<string, string>();
  let missed = false;
  const snapshot = async () => new Map((await call({ op: 'controls' })).map(([id, c]) => [id, JSON.stringify(c)]));
  const poll = async () => {
    let next: Map<string, string>;
    try {
      next = await snapshot();
    } catch {
      missed = true;
      return;
    }
    const changed = [...new Set([...seen.keys(), ...next.keys()])].filter((id) => seen.get(id) !== next.get(id));
    seen = next;
    const tell = (id: string | undefined) => listeners.forEach((l) => l(id));
    if (missed) tell(undefined);
    else changed.forEach(tell);
    missed = false;
  };

  return {
    kind: 'lambda',
    functionName,
    sessions: createLambdaSessionClient(call),
    connected: () => reachable,
    async evaluate({ deadline: _deadline, ...r }) {
      // the limiter's deadline stays here: the invocation has its own (`timeout`)
      const v = await call({ op: 'evaluate', ...r, limits: [...r.limits], costs: [...r.costs], now: r.now ?? null, anomaly: r.anomaly && { ...r.anomaly, rules: stripUndefined(r.anomaly.rules) } });
      return v.reservation ? v : { allowed: v.allowed, now: v.now, limits: v.limits, anomalies: v.anomalies };
    },
    settle: (r) => call({ op: 'settle', identifier: r.identifier, reservationId: r.reservationId, expiresAt: r.expiresAt, limits: [...r.limits], costs: [...r.costs], now: r.now ?? null, stateTtlMs: r.stateTtlMs, ...(r.anomaly && { anomaly: r.anomaly }) }),
    async reset(r) {
      await call({ op: 'reset', identifier: r.identifier, limits: [...r.limits], all: r.all, stateTtlMs: r.stateTtlMs });
    },
    inspect: (identifier, now) => call({ op: 'inspect', identifier, now: now ?? null }),
    async controls() {
      return new Map((await call({ op: 'controls' })) as [string, Control][]);
    },
    async control(identifier) {
      return ((await call({ op: 'control', identifier })) as Control | null) ?? undefined;
    },
    async setControl(identifier, control) {
      await call({ op: 'setControl', identifier, control: (control as Value<'control'>) ?? null });
    },
    async announce(identifier) {
      await call({ op: 'announce', identifier });
    },
    async listen(listener) {
      listeners.add(listener);
      if (listenMs !== undefined && !poller) {
        seen = await snapshot();
        poller = setInterval(() => void poll(), listenMs);
        poller.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          clearInterval(poller);
          poller = undefined;
        }
        return Promise.resolve();
      };
    },
    async addUsage(entries, { maxEntries }) {
      await call({ op: 'addUsage', entries: [...entries], maxEntries });
    },
    topUsage: (board, count) => call({ op: 'topUsage', board, count }),
    append: (stream, fields, { maxLength, identifier, ttlMs }) =>
      call({ op: 'append', stream, fields: { ...fields }, maxLength, ...(identifier !== undefined && { identifier }), ...(ttlMs !== undefined && { ttlMs }) }),
    read: (stream, count, identifier) => call({ op: 'read', stream, count, ...(identifier !== undefined && { identifier }) }),
    close() {
      clearInterval(poller);
      poller = undefined;
      listeners.clear();
      if (client && owned) client.destroy();
      client = undefined;
      return Promise.resolve();
    },
  };
}

/** JSON drops undefined anyway; the request's types want the keys absent. */
function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
