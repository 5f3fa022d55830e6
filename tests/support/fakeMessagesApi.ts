import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Anthropic Messages API, good enough for the real SDK: POST
 * /v1/messages (JSON, or SSE when the body says `stream: true`) and POST
 * /v1/messages/count_tokens. Tests script it with a queue of responses and inspect what it
 * received. It listens on 127.0.0.1 with an ephemeral port and never calls anywhere.
 */

export type FakeBlock =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: unknown };

export interface FakeMessageInit {
  readonly id?: string;
  readonly model?: string;
  readonly content?: readonly FakeBlock[];
  readonly stopReason?: string | null;
  readonly usage?: {
    readonly input_tokens?: number;
    readonly output_tokens?: number;
    readonly cache_read_input_tokens?: number | null;
    readonly cache_creation_input_tokens?: number | null;
  };
}

interface Timing {
  /** Wait before answering at all. */
  readonly delayMs?: number;
  /** Then wait for this too (a test holds a reply until something else has happened). */
  readonly until?: Promise<unknown>;
}

export type FakeResponse =
  /** A message: JSON, or an SSE stream when the request asked to stream. */
  | ({ readonly kind: 'message'; readonly message?: FakeMessageInit; readonly headers?: Readonly<Record<string, string>>;
      /** SSE only: pause between events (lets a test abort mid-stream). */
      readonly eventDelayMs?: number } & Timing)
  /** An API error: `{ type: 'error', error: { type, message } }` with the given status and headers. */
  | ({ readonly kind: 'error'; readonly status: number; readonly type?: string; readonly message?: string;
      readonly headers?: Readonly<Record<string, string>> } & Timing)
  /** A stream that starts (200) and then sends an SSE `error` event, as the API does when it overloads mid-reply. */
  | ({ readonly kind: 'sse-error'; readonly type: string; readonly message?: string } & Timing)
  /** Never answers: the connection stays open until the client gives up or the server closes. */
  | { readonly kind: 'hang' }
  | ({ readonly kind: 'raw'; readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body: string } & Timing);

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON body (undefined if it was not JSON). */
  readonly body: unknown;
  readonly receivedAt: number;
  /** Set when the client closed the connection before the response was complete. */
  clientClosedEarly: boolean;
}

export interface FakeMessagesApi {
  /** Base URL for the SDK's `baseURL`, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Every request received, oldest first (count_tokens included). */
  readonly requests: RecordedRequest[];
  /** Requests to POST /v1/messages only. */
  messageRequests(): RecordedRequest[];
  /** Queues responses for the next POST /v1/messages calls, in order. */
  enqueue(...responses: FakeResponse[]): void;
  /** Responses still queued. */
  pending(): number;
  /** Answers when the queue is empty (default: a non-retryable 400 saying the script ran out). */
  setFallback(fallback: (request: RecordedRequest) => FakeResponse): void;
  /** Forgets queued responses and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

let messageCounter = 0;

/**
 * A complete Messages API `Message` object from a few fields.
 *
 * @example
 * fakeMessage({ content: [{ type: 'text', text: 'hi' }], usage: { input_tokens: 5, output_tokens: 1 } });
 */
export function fakeMessage(init: FakeMessageInit = {}): Record<string, unknown> {
  const content = init.content ?? [{ type: 'text', text: 'fake reply' }];
  return {
    id: init.id ?? `msg_fake_${++messageCounter}`,
    type: 'message',
    role: 'assistant',
    model: init.model ?? 'claude-fake-1',
    content,
    stop_reason: init.stopReason === undefined ? (content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn') : init.stopReason,
    stop_sequence: null,
    usage: {
      input_tokens: init.usage?.input_tokens ?? 10,
      output_tokens: init.usage?.output_tokens ?? 5,
      cache_read_input_tokens: init.usage?.cache_read_input_tokens === undefined ? 0 : init.usage.cache_read_input_tokens,
      cache_creation_input_tokens: init.usage?.cache_creation_input_tokens === undefined ? 0 : init.usage.cache_creation_input_tokens,
    },
  };
}

/**
 * Starts the fake API on 127.0.0.1 with an ephemeral port.
 *
 * @example
 * const api = await startFakeMessagesApi();
 * api.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '0.05' } }, { kind: 'message' });
 * const client = new Anthropic({ apiKey: 'test', baseURL: api.url });
 */
export async function startFakeMessagesApi(): Promise<FakeMessagesApi> {
  const requests: RecordedRequest[] = [];
  let queue: FakeResponse[] = [];
  let fallback = (_request: RecordedRequest): FakeResponse => ({
    kind: 'error',
    status: 400,
    type: 'invalid_request_error',
    message: 'fake messages API: no scripted response left',
    headers: { 'x-should-retry': 'false' },
  });

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake messages API failed: ${String(error)}`);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] ?? '',
      headers: req.headers,
      body: parseJson(raw),
      receivedAt: Date.now(),
      clientClosedEarly: false,
    };
    requests.push(recorded);
    res.on('close', () => {
      if (!res.writableFinished) recorded.clientClosedEarly = true;
    });

    if (recorded.method === 'POST' && recorded.path === '/v1/messages/count_tokens') {
      return json(res, 200, { input_tokens: Math.ceil(raw.length / 4) });
    }
    if (recorded.method !== 'POST' || recorded.path !== '/v1/messages') {
      return json(res, 404, errorBody('not_found_error', `fake messages API: no route ${recorded.method} ${recorded.path}`));
    }
    const response = queue.shift() ?? fallback(recorded);
    if (response.kind === 'hang') return;
    if (response.delayMs) await sleep(response.delayMs);
    if (response.until) await response.until;
    if (res.destroyed) return;
    const wantsStream = (recorded.body as { stream?: unknown } | undefined)?.stream === true;
    switch (response.kind) {
      case 'message': {
        const message = fakeMessage(response.message);
        if (wantsStream) return streamMessage(res, message, response.eventDelayMs ?? 0, response.headers);
        return json(res, 200, message, response.headers);
      }
      case 'error':
        return json(res, response.status, errorBody(response.type ?? typeForStatus(response.status), response.message ?? `fake ${response.status}`), response.headers);
      case 'sse-error': {
        res.writeHead(200, sseHeaders());
        const message = fakeMessage({ content: [] });
        sse(res, 'message_start', { type: 'message_start', message: { ...message, stop_reason: null } });
        sse(res, 'error', errorBody(response.type, response.message ?? response.type));
        res.end();
        return;
      }
      case 'raw':
        res.writeHead(response.status, { ...response.headers });
        res.end(response.body);
        return;
      default: {
        const never: never = response;
        throw new Error(`unknown fake response ${JSON.stringify(never)}`);
      }
    }
  }

  // Idle connections are closed by the client only. Node's default closes them after 5 s, and a
  // request the SDK sent on one just then failed with "Connection error." (a clean-clone CI run, a
  // test with maxRetries 0): a race the real API's much longer keep-alive does not show.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    messageRequests: () => requests.filter((r) => r.path === '/v1/messages'),
    enqueue: (...responses) => {
      queue.push(...responses);
    },
    pending: () => queue.length,
    setFallback: (f) => {
      fallback = f;
    },
    reset: () => {
      queue = [];
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Hanging responses would keep close() waiting forever.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function streamMessage(
  res: ServerResponse,
  message: Record<string, unknown>,
  eventDelayMs: number,
  headers: Readonly<Record<string, string>> = {},
): Promise<void> {
  const content = message.content as FakeBlock[];
  const usage = message.usage as Record<string, number | null>;
  const events: [string, unknown][] = [
    ['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }],
    ['ping', { type: 'ping' }],
  ];
  content.forEach((block, index) => {
    if (block.type === 'text') {
      events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }]);
      for (const piece of chunks(block.text, 7)) {
        events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }]);
      }
    } else {
      events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } }]);
      for (const piece of chunks(JSON.stringify(block.input ?? {}), 9)) {
        events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } }]);
      }
    }
    events.push(['content_block_stop', { type: 'content_block_stop', index }]);
  });
  events.push(
    ['message_delta', { type: 'message_delta', delta: { stop_reason: message.stop_reason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }],
    ['message_stop', { type: 'message_stop' }],
  );
  res.writeHead(200, { ...sseHeaders(), ...headers });
  for (const [name, data] of events) {
    if (res.destroyed) return;
    sse(res, name, data);
    if (eventDelayMs > 0) await sleep(eventDelayMs);
  }
  res.end();
}

const chunks = (text: string, size: number): string[] => {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [''];
};

const sseHeaders = (): Record<string, string> => ({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });

function sse(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_fake_${Date.now()}`, ...headers });
  res.end(JSON.stringify(body));
}

const errorBody = (type: string, message: string): unknown => ({ type: 'error', error: { type, message } });

function typeForStatus(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status === 401) return 'authentication_error';
  if (status === 400) return 'invalid_request_error';
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
