// A local endpoint that speaks the part of Lambda's Invoke API the AWS SDK uses for a synchronous
// call (POST /2015-03-31/functions/{name}/invocations, JSON in and out, X-Amz-Function-Error when
// the handler throws), running real handlers in this process. Point the real SDK client at it
// with `endpoint: url` and dummy credentials; loopback only.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (event: unknown) => Promise<unknown>;

export interface InvokeEndpoint {
  /** `http://127.0.0.1:<port>`: the SDK client's `endpoint`. */
  readonly url: string;
  /** Every event received, by function name, in order. */
  readonly events: Map<string, unknown[]>;
  /** The `Authorization` header of every invocation (SigV4: it names the region it was signed for). */
  readonly authorizations: (string | undefined)[];
  /** Stops listening and drops open connections (a hanging handler's caller sees a reset). */
  close(): Promise<void>;
}

/** Settings a client needs to talk to the endpoint with the real SDK. */
export const dummyAws = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' } } as const;

const PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** The function's name from what the caller sent: a name, or an ARN, with or without a qualifier. */
function functionName(raw: string): string {
  const name = decodeURIComponent(raw);
  const arn = /^arn:[^:]+:lambda:[^:]+:\d{12}:function:([^:]+)/.exec(name);
  if (arn) return arn[1]!;
  return name.split(':')[0]!;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the endpoint on a free loopback port with these functions, by name. */
export async function startInvokeEndpoint(functions: Readonly<Record<string, Handler>>): Promise<InvokeEndpoint> {
  const events = new Map<string, unknown[]>();
  const authorizations: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void (async () => {
      const match = req.method === 'POST' ? PATH.exec((req.url ?? '').split('?')[0]!) : null;
      if (!match) return send(res, 404, { message: 'not an Invoke call' }, { 'x-amzn-errortype': 'UnknownOperationException' });
      authorizations.push(req.headers.authorization);
      const name = functionName(match[1]!);
      const handler = functions[name];
      if (!handler) return send(res, 404, { Type: 'User', message: `Function not found: ${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
      const text = await readBody(req);
      let event: unknown;
      try {
        event = text === '' ? {} : JSON.parse(text);
      } catch {
        return send(res, 400, { Type: 'User', message: 'Could not parse request body into json' }, { 'x-amzn-errortype': 'InvalidRequestContentException' });
      }
      (events.get(name) ?? events.set(name, []).get(name)!).push(event);
      try {
        const result = await handler(event);
        send(res, 200, result ?? null, { 'x-amz-executed-version': '$LATEST' });
      } catch (error) {
        // what Lambda answers when a handler throws: 200, the error as the payload, and this header
        const e = error as Error;
        send(res, 200, { errorType: e.name ?? 'Error', errorMessage: e.message ?? String(error), trace: [] }, { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' });
      }
    })();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
