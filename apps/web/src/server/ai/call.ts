// One model call as the creator sees it: bounded by a deadline (the upstream request cancelled at
// it), every failure put in one of a few classes with a short message and a reference, the
// details only in the server log, and the reported usage checked before anything is charged.
import 'server-only';

import { randomBytes } from 'node:crypto';

import { type ModelPricing, costInCents } from '@airl/creators';
import {
  APICallError,
  EmptyResponseBodyError,
  InvalidResponseDataError,
  JSONParseError,
  LoadAPIKeyError,
  LoadSettingError,
  NoContentGeneratedError,
  NoSuchModelError,
  RetryError,
  TypeValidationError,
} from 'ai';

import type { AiProvider, AiRequest, AiResult, ReportedUsage, TokenUsage } from './provider';

/**
 * Why a call failed, as the creator is told: the provider is down or answered unreadably, it
 * refused this request, it did not answer before the deadline, something is wrong on our side
 * (a key, model or URL it rejects, or a bug), or the creator went away.
 */
export type AiFailure = 'unavailable' | 'rejected' | 'timeout' | 'configuration' | 'cancelled';

const MESSAGES: Record<AiFailure, string> = {
  unavailable: 'The AI service is unavailable right now. Please try again in a moment.',
  rejected: 'The AI service could not process this request. Try shortening or rewording it.',
  timeout: 'The AI service took too long to answer, so the request was cancelled. Please try again.',
  configuration: 'The AI feature is not working on our side. We have logged the problem.',
  cancelled: 'The request was cancelled.',
};

const CHARGE_NOTE = 'No tokens or budget were charged; the request counts toward your request limits.';

/** The creator's message for a failure: the class, what was charged, and the reference to quote. */
export function failureMessage(failure: AiFailure, reference: string): string {
  return `${MESSAGES[failure]} ${CHARGE_NOTE} (reference ${reference})`;
}

/** The cause of the TRPCError of a failed call: what the error formatter puts in `data.ai`. */
export class AiCallError extends Error {
  override readonly name = 'AiCallError';
  constructor(
    readonly failure: AiFailure,
    /** Also in the server log line with the details. */
    readonly reference: string,
  ) {
    super(failureMessage(failure, reference));
  }
}

/** A short id that ties what the creator is shown to the server log line. */
export const newReference = () => randomBytes(6).toString('hex');

/** The class of an error the provider or the AI SDK threw (not a timeout or a cancellation). */
export function classify(error: unknown): AiFailure {
  const e = RetryError.isInstance(error) ? error.lastError : error;
  if (APICallError.isInstance(e)) {
    const status = e.statusCode;
    // no status: no answer at all (refused, reset, DNS)
    if (status === undefined) return 'unavailable';
    // an answer that could not be read ("Invalid JSON response" has the answer's 200)
    if (status < 400) return 'unavailable';
    // our key, our model name or our URL
    if (status === 401 || status === 403 || status === 404) return 'configuration';
    if (status === 408 || status === 409 || status === 429 || status >= 500) return 'unavailable';
    // the request itself: too long, a content policy...
    return 'rejected';
  }
  if (LoadAPIKeyError.isInstance(e) || LoadSettingError.isInstance(e) || NoSuchModelError.isInstance(e)) return 'configuration';
  if (
    JSONParseError.isInstance(e) ||
    TypeValidationError.isInstance(e) ||
    InvalidResponseDataError.isInstance(e) ||
    EmptyResponseBodyError.isInstance(e) ||
    NoContentGeneratedError.isInstance(e)
  ) {
    return 'unavailable';
  }
  return 'configuration';
}

/** Key-looking strings (and the configured key) out of what is logged. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out.replace(/\b(sk|pk|rk|key|api|token)[-_][\w*.-]{6,}/gi, '[redacted]').replace(/(bearer\s+)\S+/gi, '$1[redacted]');
}

/** What the log says about an error: names, HTTP statuses and messages, redacted and cut short. */
function describe(error: unknown, secrets: readonly string[]): Record<string, unknown> {
  const all = RetryError.isInstance(error) ? error.errors : [error];
  const attempts = all.map((e) => {
    const err = e instanceof Error ? e : new Error(String(e));
    const cause = err.cause instanceof Error ? `; cause: ${err.cause.message}` : '';
    return {
      error: err.name,
      ...(APICallError.isInstance(err) && { status: err.statusCode }),
      message: redact(`${err.message}${cause}`, secrets).slice(0, 500),
    };
  });
  return { attempts };
}

type Log = (line: Record<string, unknown>) => void;

/** One JSON line on stderr: what the server log gets. */
export const logLine: Log = (line) => console.error(JSON.stringify({ at: new Date().toISOString(), ...line }));

export interface CallOptions {
  /** The deadline, retry included. */
  readonly timeoutMs: number;
  /** Aborted when the creator goes away. */
  readonly signal?: AbortSignal | undefined;
  readonly reference: string;
  /** Put in the log line. */
  readonly context: Record<string, unknown>;
  /** Values never to write in a log line (the API key). */
  readonly secrets?: readonly string[];
  readonly log?: Log;
}

export type CallOutcome = { ok: true; result: AiResult } | { ok: false; failure: AiFailure };

/**
 * Calls the model with a deadline: at it, the signal aborts the upstream request (and any retry),
 * and the call answers `timeout` even if a provider ignored the signal. Failures are logged with
 * the reference, never thrown.
 */
export async function callModel(provider: AiProvider, request: Omit<AiRequest, 'signal'>, options: CallOptions): Promise<CallOutcome> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  const started = performance.now();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return { ok: true, result: await Promise.race([provider.generate({ ...request, signal }), aborted]) };
  } catch (error) {
    const failure: AiFailure = deadline.aborted ? 'timeout' : options.signal?.aborted ? 'cancelled' : classify(error);
    (options.log ?? logLine)({
      level: failure === 'cancelled' ? 'info' : 'error',
      msg: 'AI call failed',
      reference: options.reference,
      failure,
      ...options.context,
      provider: provider.kind,
      model: provider.model,
      elapsedMs: Math.round(performance.now() - started),
      ...(failure === 'timeout' && { timeoutMs: options.timeoutMs }),
      ...describe(error, options.secrets ?? []),
    });
    return { ok: false, failure };
  } finally {
    signal.removeEventListener('abort', onAbort!);
    aborted.catch(() => undefined);
  }
}

/** What a call reserved: its prompt tokens, all of them with the output allowance, and their price. */
export interface Estimate {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly tokens: number;
  readonly cents: number;
}

export function estimateOf(inputTokens: number, maxOutputTokens: number, pricing: ModelPricing): Estimate {
  return { inputTokens, outputTokens: maxOutputTokens, tokens: inputTokens + maxOutputTokens, cents: costInCents({ inputTokens, outputTokens: maxOutputTokens }, pricing) };
}

/** A token count the limiter can charge: a whole number >= 0. */
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** What a successful call is charged. */
export interface Charge {
  readonly usage: TokenUsage;
  readonly costCents: number;
  /** The provider's usage was missing or invalid: the estimate was charged instead. */
  readonly estimated: boolean;
}

/**
 * The usage to charge: the provider's counts when both, their sum and their price are whole
 * numbers >= 0 the limiter can charge; otherwise (negative, fractional, NaN, missing, too large)
 * exactly the reserved estimate, in tokens and cents.
 */
export function chargeFor(reported: ReportedUsage, estimate: Estimate, pricing: ModelPricing): Charge {
  const { inputTokens, outputTokens } = reported;
  if (isCount(inputTokens) && isCount(outputTokens)) {
    const totalTokens = inputTokens + outputTokens;
    const costCents = costInCents({ inputTokens, outputTokens }, pricing);
    // a sum or price past 2^53 would be refused by the settle, leaving the estimate charged while the answer said otherwise
    if (isCount(totalTokens) && isCount(costCents)) return { usage: { inputTokens, outputTokens, totalTokens }, costCents, estimated: false };
  }
  return { usage: { inputTokens: estimate.inputTokens, outputTokens: estimate.outputTokens, totalTokens: estimate.tokens }, costCents: estimate.cents, estimated: true };
}
