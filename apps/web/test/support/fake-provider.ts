// An OpenAI-compatible chat completions server on loopback (node:http) for the AI call path tests.
// The creator's text picks the behaviour with a tag, for example `[usage 100 25000]`, `[status 500]`,
// `[hang]`; every request is recorded (with when its connection closed, to show cancellation).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly system: string;
  readonly prompt: string;
  readonly maxTokens: unknown;
  readonly auth: string | undefined;
  readonly at: number;
  /** When the client closed the connection before an answer (ms since epoch), if it did. */
  closedAt: number | undefined;
}

export interface FakeProvider {
  readonly baseURL: string;
  readonly seen: SeenRequest[];
  /** The requests whose prompt contains `tag`. */
  requests(tag: string): SeenRequest[];
  close(): Promise<void>;
}

const completion = (usage: unknown) =>
  JSON.stringify({
    id: 'cmpl-test',
    object: 'chat.completion',
    created: 1_764_000_000,
    model: 'test-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'A fine answer. #one #two' }, finish_reason: 'stop' }],
    ...(usage !== undefined && { usage }),
  });

/** What the provider says when it fails: text the creator must never see. */
export const PROVIDER_SECRETS = {
  internal: 'upstream exploded: internal detail XYZ',
  badKey: 'Incorrect API key provided: sk-proj-****abcd. You can find your API key at https://platform.example/account/api-keys.',
  rejected: "This model's maximum context length is 8192 tokens (internal detail QRS)",
};

function answer(req: http.IncomingMessage, res: http.ServerResponse, prompt: string) {
  const tag = /\[(\w+)([^\]]*)\]/.exec(prompt);
  const [, kind = 'usage', args = ''] = tag ?? [];
  const nums = args.trim().split(/\s+/).filter(Boolean);
  const json = (status: number, body: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  switch (kind) {
    case 'usage': {
      // `[usage IN OUT]`: numbers as JSON allows them (negative, fractional); no tag: 20 in, 10 out
      const [i = '20', o = '10'] = nums;
      return json(200, completion({ prompt_tokens: Number(i), completion_tokens: Number(o), total_tokens: Number(i) + Number(o) }));
    }
    case 'nousage':
      return json(200, completion(undefined));
    case 'partialusage':
      return json(200, completion({ completion_tokens: 12 }));
    case 'status': {
      const status = Number(nums[0]);
      const message = status === 401 ? PROVIDER_SECRETS.badKey : status === 400 ? PROVIDER_SECRETS.rejected : PROVIDER_SECRETS.internal;
      return json(status, JSON.stringify({ error: { message, type: 'server_error', code: status === 401 ? 'invalid_api_key' : null } }));
    }
    case 'badjson':
      return json(200, '{"id": "cmpl-test", "choices": [ not json');
    case 'reset':
      // the connection drops without an answer
      return req.socket.destroy();
    case 'slow': {
      const timer = setTimeout(() => json(200, completion({ prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 })), Number(nums[0]));
      res.once('close', () => clearTimeout(timer));
      return;
    }
    case 'hang':
      // headers never come; the client must give up
      return;
    default:
      return json(500, '{}');
  }
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { messages: { role: string; content: string }[]; max_tokens?: unknown };
      const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
      const prompt = body.messages.find((m) => m.role === 'user')?.content ?? '';
      const entry: SeenRequest = { system, prompt, maxTokens: body.max_tokens, auth: req.headers.authorization, at: Date.now(), closedAt: undefined };
      seen.push(entry);
      res.once('close', () => {
        if (!res.writableFinished) entry.closedAt ??= Date.now();
      });
      answer(req, res, prompt);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    seen,
    requests: (tag) => seen.filter((s) => s.prompt.includes(tag)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
