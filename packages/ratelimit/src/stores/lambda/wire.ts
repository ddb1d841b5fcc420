// What goes between the Lambda store (in the app) and the limiter function (next to Redis): one
// JSON request of several store operations, one JSON response with a result per operation.
// Versioned, and validated on both sides: the function trusts no caller's shapes, the app no
// function's.
import { z } from 'zod';

/** The wire version this code speaks; a request of another version is refused whole. */
export const WIRE_VERSION = 1;
/** Most operations one invocation may carry. */
export const MAX_OPS = 256;

const whole = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const positive = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const epochMs = whole;
const identifier = z.string().min(1).max(1024);
const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);

const limit = z.strictObject({
  name,
  unit: z.string().min(1).max(64),
  algorithm: z.enum(['sliding-log', 'sliding-window', 'token-bucket', 'fixed-window']),
  code: z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]),
  limit: positive,
  windowMs: positive,
  ttlMs: positive,
});
const limits = z.array(limit).min(1).max(64);

const windowRule = z.strictObject({ windowMs: positive, threshold: positive, blockMs: whole });
const rules = z.strictObject({
  burst: windowRule.optional(),
  denialStorm: windowRule.optional(),
  costSpike: z.strictObject({ unit: z.string().min(1).max(64), factor: z.number().positive().finite(), minCost: positive, minHours: positive, blockMs: whole }).optional(),
});

const decision = z.strictObject({ until: epochMs, by: z.string().max(256), reason: z.string().max(1024).optional(), at: epochMs });
const control = z.strictObject({ override: decision.extend({ plan: name }).optional(), block: decision.optional() });
const sessionKey = z.string().min(1).max(512);
const sessionMembers = z.array(z.string().min(1).max(256)).min(1).max(256);
const streamName = z.enum(['anomalies', 'audit']);
const fields = z.record(z.string().max(256), z.string().max(4096));

export const operation = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('evaluate'),
    identifier,
    limits,
    costs: z.array(whole).max(64),
    mode: z.enum(['peek', 'check', 'reserve']),
    now: epochMs.nullable(),
    reservationTtlMs: positive,
    stateTtlMs: positive,
    anomaly: z.strictObject({ rules, cost: whole, pendingDenied: whole }).optional(),
  }),
  z.strictObject({
    op: z.literal('settle'),
    identifier,
    reservationId: z.string().regex(/^[0-9]{1,20}$/),
    expiresAt: epochMs,
    limits,
    costs: z.array(z.tuple([name, whole])).max(64),
    now: epochMs.nullable(),
    stateTtlMs: positive,
    anomaly: z.strictObject({ rules, cost: z.number().int() }).optional(),
  }),
  z.strictObject({ op: z.literal('reset'), identifier, limits: z.array(limit).max(256), all: z.boolean(), stateTtlMs: positive }),
  z.strictObject({ op: z.literal('inspect'), identifier, now: epochMs.nullable() }),
  z.strictObject({ op: z.literal('controls') }),
  z.strictObject({ op: z.literal('control'), identifier }),
  z.strictObject({ op: z.literal('setControl'), identifier, control: control.nullable() }),
  z.strictObject({ op: z.literal('announce'), identifier }),
  z.strictObject({
    op: z.literal('addUsage'),
    entries: z.array(z.strictObject({ board: z.string().min(1).max(128), identifier, amount: z.number().finite(), ttlMs: positive })).max(10_000),
    maxEntries: positive,
  }),
  z.strictObject({ op: z.literal('topUsage'), board: z.string().min(1).max(128), count: z.number().int().min(1).max(1000) }),
  z.strictObject({
    op: z.literal('append'),
    stream: streamName,
    fields,
    maxLength: positive,
    identifier: identifier.optional(),
    ttlMs: positive.optional(),
  }),
  z.strictObject({ op: z.literal('read'), stream: streamName, count: z.number().int().min(1).max(10_000), identifier: identifier.optional() }),
  // the apps' sessions: a closed list of commands, one key each (Redis Cluster: no cross-slot
  // command), and the handler runs them only on keys under its configured sessions prefix
  z.strictObject({ op: z.literal('sessionGet'), key: sessionKey }),
  z.strictObject({ op: z.literal('sessionSet'), key: sessionKey, value: z.string().max(4096), px: positive, xx: z.boolean() }),
  z.strictObject({ op: z.literal('sessionDel'), key: sessionKey }),
  z.strictObject({ op: z.literal('sessionSadd'), key: sessionKey, members: sessionMembers }),
  z.strictObject({ op: z.literal('sessionSrem'), key: sessionKey, members: sessionMembers }),
  z.strictObject({ op: z.literal('sessionSmembers'), key: sessionKey }),
  z.strictObject({ op: z.literal('sessionPexpire'), key: sessionKey, ms: positive }),
]);
export type Operation = z.infer<typeof operation>;
export type OperationName = Operation['op'];
/** The session operations: the only Redis commands the function runs for a caller, by name. */
export type SessionOperation = Extract<Operation, { op: `session${string}` }>;

/** A request as it travels. Only `v` is read before the version is known to match. */
export const request = z.strictObject({ v: z.literal(WIRE_VERSION), ops: z.array(operation).min(1).max(MAX_OPS) });
export type WireRequest = z.infer<typeof request>;

/**
 * Why an operation (or a whole request) failed, never with Redis's or a client's own text:
 * `BAD_REQUEST` (the caller's fault; nothing was run), `STORE_UNAVAILABLE` (Redis failed or was
 * too slow), `INTERNAL` (the function's own fault).
 */
export const errorCode = z.enum(['BAD_REQUEST', 'STORE_UNAVAILABLE', 'INTERNAL']);
const wireError = z.strictObject({ code: errorCode, message: z.string().max(2000) });
export type WireError = z.infer<typeof wireError>;

const outcome = z.strictObject({ fits: z.boolean(), remaining: z.number(), resetAt: z.number() });
const fired = z.strictObject({ rule: z.enum(['burst', 'denial-storm', 'cost-spike']), value: z.number(), threshold: z.number() });

/** What each operation returns when it succeeds. */
export const values = {
  evaluate: z.strictObject({
    allowed: z.boolean(),
    now: z.number(),
    limits: z.array(outcome),
    anomalies: z.array(fired),
    reservation: z.strictObject({ id: z.string(), expiresAt: z.number() }).optional(),
  }),
  settle: z.strictObject({ status: z.enum(['settled', 'expired', 'unknown']), now: z.number(), anomalies: z.array(fired).optional() }),
  reset: z.null(),
  inspect: z.strictObject({
    now: z.number(),
    denials: z.array(z.strictObject({ at: z.number(), limit: z.string() })),
    reservations: z.array(
      z.strictObject({ id: z.string(), expiresAt: z.number(), parts: z.array(z.strictObject({ limit: z.string(), cost: z.number() })) }),
    ),
  }),
  controls: z.array(z.tuple([z.string(), control])),
  control: control.nullable(),
  setControl: z.null(),
  announce: z.null(),
  addUsage: z.null(),
  topUsage: z.array(z.strictObject({ identifier: z.string(), amount: z.number() })),
  append: z.string(),
  read: z.array(z.strictObject({ id: z.string(), fields: z.record(z.string(), z.string()) })),
  sessionGet: z.string().nullable(),
  /** false: `xx` was set and the key did not exist, so nothing was written */
  sessionSet: z.boolean(),
  sessionDel: whole,
  sessionSadd: whole,
  sessionSrem: whole,
  sessionSmembers: z.array(z.string()),
  sessionPexpire: whole,
} satisfies Record<OperationName, z.ZodType>;
export type Value<O extends OperationName> = z.infer<(typeof values)[O]>;

export const result = z.union([z.strictObject({ ok: z.literal(true), value: z.unknown() }), z.strictObject({ ok: z.literal(false), error: wireError })]);
export type WireResult = z.infer<typeof result>;

/** A response: one result per operation, in order; or one error for the whole request. */
export const response = z.union([
  z.strictObject({ v: z.literal(WIRE_VERSION), results: z.array(result) }),
  z.strictObject({ v: z.number(), error: wireError }),
]);
export type WireResponse = z.infer<typeof response>;

/** Lines naming each bad value's path, for a caller to fix; never the values themselves. */
export function describeIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.slice(0, max).map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`);
  if (error.issues.length > max) lines.push(`and ${error.issues.length - max} more`);
  return lines.join('; ');
}
