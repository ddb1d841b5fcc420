// The AI providers: the local one is deterministic and reports usage; the OpenAI-compatible one
// goes through the AI SDK to a real HTTP server (a fake on loopback) and reports its usage.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createLocalProvider, createOpenAICompatibleProvider, promptTokens } from '~/server/ai/provider';

const request = { feature: 'caption' as const, system: 'Write a caption.', prompt: 'Sunset at the beach', maxOutputTokens: 100, signal: new AbortController().signal };

describe('local provider', () => {
  it('answers the same prompt the same way, with token usage', async () => {
    const provider = createLocalProvider();
    const a = await provider.generate(request);
    const b = await provider.generate(request);
    expect(a).toEqual(b);
    expect(a.text).toContain('Sunset at the beach');
    // the same rule as the estimate: each message rounded up on its own
    expect(a.usage.inputTokens).toBe(Math.ceil('Write a caption.'.length / 4) + Math.ceil('Sunset at the beach'.length / 4));
    expect(a.usage.inputTokens).toBe(promptTokens(request.system, request.prompt));
    expect(a.usage.outputTokens).toBeGreaterThan(0);
    expect((await provider.generate({ ...request, prompt: 'Another post' })).text).not.toBe(a.text);
  });
});

describe('OpenAI-compatible provider', () => {
  let server: http.Server;
  let baseURL: string;
  const seen: { url?: string; auth?: string; body?: Record<string, unknown> } = {};

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        seen.url = req.url;
        seen.auth = req.headers.authorization;
        seen.body = JSON.parse(raw) as Record<string, unknown>;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            id: 'cmpl-1',
            object: 'chat.completion',
            created: 1_764_000_000,
            model: 'test-model',
            choices: [{ index: 0, message: { role: 'assistant', content: 'Golden hour, golden you. #sunset #beach' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends a chat completion and reports the usage the API returned', async () => {
    const provider = createOpenAICompatibleProvider({ baseURL, apiKey: 'sk-test', model: 'test-model' });
    const result = await provider.generate(request);
    expect(result).toEqual({ text: 'Golden hour, golden you. #sunset #beach', usage: { inputTokens: 21, outputTokens: 9 }, model: 'test-model' });
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.auth).toBe('Bearer sk-test');
    expect(seen.body).toMatchObject({ model: 'test-model', max_tokens: 100, messages: [{ role: 'system', content: 'Write a caption.' }, { role: 'user', content: 'Sunset at the beach' }] });
  });
});
