// The pieces of the AI call path that need no server: which usage is charged, how errors are
// classed, what the log keeps out, and that the deadline holds even for a provider that ignores it.
import { DEFAULT_PRICING } from '@airl/creators';
import { APICallError, JSONParseError, LoadAPIKeyError, RetryError } from 'ai';
import { describe, expect, it } from 'vitest';

import { callModel, chargeFor, classify, estimateOf, redact } from '~/server/ai/call';
import type { AiProvider } from '~/server/ai/provider';

const estimate = estimateOf(30, 400, DEFAULT_PRICING);

describe('chargeFor', () => {
  it('charges the reported usage when both counts are whole numbers >= 0', () => {
    expect(chargeFor({ inputTokens: 120, outputTokens: 0 }, estimate, DEFAULT_PRICING)).toEqual({ usage: { inputTokens: 120, outputTokens: 0, totalTokens: 120 }, costCents: 1, estimated: false });
    // past the estimate too: the work was done
    expect(chargeFor({ inputTokens: 100, outputTokens: 25_000 }, estimate, DEFAULT_PRICING)).toMatchObject({ usage: { totalTokens: 25_100 }, costCents: 26, estimated: false });
  });

  it('charges exactly the estimate (tokens and cents) for negative, fractional, NaN, infinite, non-number or missing counts', () => {
    const charged = { usage: { inputTokens: 30, outputTokens: 400, totalTokens: 430 }, costCents: estimate.cents, estimated: true };
    for (const bad of [-5, 10.5, Number.NaN, Number.POSITIVE_INFINITY, '12', null, undefined, 2 ** 60]) {
      expect(chargeFor({ inputTokens: bad, outputTokens: 10 }, estimate, DEFAULT_PRICING)).toEqual(charged);
      expect(chargeFor({ inputTokens: 10, outputTokens: bad }, estimate, DEFAULT_PRICING)).toEqual(charged);
    }
    // each count chargeable, but not their sum: the settle would refuse it
    expect(chargeFor({ inputTokens: 2 ** 52, outputTokens: 2 ** 52 }, estimate, DEFAULT_PRICING)).toEqual(charged);
    expect(estimate).toEqual({ inputTokens: 30, outputTokens: 400, tokens: 430, cents: 1 });
  });
});

describe('classify', () => {
  const api = (statusCode: number | undefined) =>
    new APICallError({ message: 'provider text', url: 'http://127.0.0.1:1/v1/chat/completions', requestBodyValues: {}, ...(statusCode !== undefined && { statusCode }) });

  it('puts every provider or SDK error in one class', () => {
    expect(classify(api(undefined))).toBe('unavailable');
    expect(classify(api(200))).toBe('unavailable');
    for (const s of [408, 429, 500, 503]) expect(classify(api(s))).toBe('unavailable');
    for (const s of [401, 403, 404]) expect(classify(api(s))).toBe('configuration');
    for (const s of [400, 413, 422]) expect(classify(api(s))).toBe('rejected');
    expect(classify(new RetryError({ message: 'Failed after 2 attempts', reason: 'maxRetriesExceeded', errors: [api(500), api(401)] }))).toBe('configuration');
    expect(classify(new JSONParseError({ text: '{', cause: new Error('x') }))).toBe('unavailable');
    expect(classify(new LoadAPIKeyError({ message: 'no key' }))).toBe('configuration');
    expect(classify(new Error('a bug'))).toBe('configuration');
  });
});

describe('redact', () => {
  it('keeps keys out of log lines', () => {
    expect(redact('Incorrect API key provided: sk-proj-****abcd, see the docs')).toBe('Incorrect API key provided: [redacted], see the docs');
    expect(redact('Authorization: Bearer abc.def')).toBe('Authorization: Bearer [redacted]');
    expect(redact('the key is my-own-key-value', ['my-own-key-value'])).toBe('the key is [redacted]');
  });
});

describe('callModel', () => {
  const request = { feature: 'caption' as const, system: 's', prompt: 'p', maxOutputTokens: 10 };
  const lines: Record<string, unknown>[] = [];
  const options = { reference: 'ref123', context: { feature: 'caption' }, secrets: ['the-api-key'], log: (l: Record<string, unknown>) => void lines.push(l) };

  it('answers timeout at the deadline even when the provider ignores the signal', async () => {
    const stuck: AiProvider = { kind: 'stuck', model: 'm', generate: () => new Promise(() => undefined) };
    const started = performance.now();
    expect(await callModel(stuck, request, { ...options, timeoutMs: 300 })).toEqual({ ok: false, failure: 'timeout' });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(3000);
    expect(lines.at(-1)).toMatchObject({ level: 'error', reference: 'ref123', failure: 'timeout', timeoutMs: 300, provider: 'stuck' });
  });

  it('answers cancelled when the creator goes away, and passes the signal to the provider', async () => {
    let seen: AbortSignal | undefined;
    const waits: AiProvider = {
      kind: 'waits',
      model: 'm',
      generate: (r) => {
        seen = r.signal;
        return new Promise(() => undefined);
      },
    };
    const creator = new AbortController();
    setTimeout(() => creator.abort(), 50);
    expect(await callModel(waits, request, { ...options, timeoutMs: 10_000, signal: creator.signal })).toEqual({ ok: false, failure: 'cancelled' });
    expect(seen?.aborted).toBe(true);
    expect(lines.at(-1)).toMatchObject({ level: 'info', failure: 'cancelled' });
  });

  it('logs the provider text redacted, and never throws it', async () => {
    const failing: AiProvider = { kind: 'failing', model: 'm', generate: () => Promise.reject(new Error('boom with the-api-key inside')) };
    expect(await callModel(failing, request, { ...options, timeoutMs: 1000 })).toEqual({ ok: false, failure: 'configuration' });
    expect(JSON.stringify(lines.at(-1))).toContain('boom with [redacted] inside');
    expect(JSON.stringify(lines.at(-1))).not.toContain('the-api-key');
  });
});
