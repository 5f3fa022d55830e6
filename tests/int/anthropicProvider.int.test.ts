import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { Aborted, ModelError } from '../../src/errors.js';
import { createAnthropicProvider } from '../../src/infra/model/anthropicProvider.js';
import { checkingModel } from '../../src/infra/model/checkingModel.js';
import type { AnthropicProviderOptions } from '../../src/infra/model/anthropicProvider.js';
import type { RateLimiter } from '../../src/infra/model/rateLimiter.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import type { FakeMessagesApi } from '../support/fakeMessagesApi.js';
import { testSystem } from '../support/system.js';

// The real SDK against a local Messages API. Every fetch the SDK makes passes through this
// guard, so a call that would leave 127.0.0.1 fails the test instead of reaching the internet.
const realFetch = globalThis.fetch;
const fetched: string[] = [];
let api: FakeMessagesApi;

beforeAll(async () => {
  api = await startFakeMessagesApi();
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    fetched.push(url.href);
    if (url.hostname !== '127.0.0.1') throw new Error(`test tried to reach ${url.href}`);
    return realFetch(input, init);
  }) as typeof fetch;
});
afterEach(() => api.reset());
afterAll(async () => {
  globalThis.fetch = realFetch;
  await api.close();
});

const provider = (options: Partial<AnthropicProviderOptions> = {}) =>
  createAnthropicProvider({ apiKey: 'sk-ant-test', baseURL: api.url, maxRetries: 2, model: 'claude-sonnet-4-6', ...options });

/** The key a request carried: SDK 1.x sends it as a bearer token, 0.x as x-api-key. */
const keyOf = (r: { headers: Record<string, string | string[] | undefined> }): unknown => (r.headers.authorization as string | undefined)?.replace(/^Bearer /, '') ?? r.headers['x-api-key'];

const tools = [
  { name: 'write_file', description: 'Write a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
  { name: 'finish', description: 'Finish', inputSchema: { properties: { output: { type: 'string' } } } },
];

const request: ModelRequest = {
  system: 'You are an implementer.',
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'Write the README' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'write_file', input: { path: 'README.md' } }] },
    { role: 'user', content: [{ type: 'tool_result', toolUseId: 'toolu_1', content: 'permission denied', isError: true }] },
  ],
  tools,
  maxTokens: 1024,
  toolChoice: { type: 'auto' },
  agent: { id: 'agent-1', role: 'implementer', task: 'Write the README', hasWorkspace: true },
};

describe('anthropic provider (real SDK, local Messages API)', () => {
  it('maps a tool-use turn both ways and sends nothing cadre-internal', async () => {
    api.enqueue({
      kind: 'message',
      message: {
        model: 'claude-sonnet-4-6-20990101',
        content: [
          { type: 'text', text: 'Retrying with another path.' },
          { type: 'tool_use', id: 'toolu_2', name: 'write_file', input: { path: 'docs/README.md' } },
        ],
        usage: { input_tokens: 120, output_tokens: 30, cache_read_input_tokens: 50, cache_creation_input_tokens: 7 },
      },
    });
    const reply = await provider().complete(request);

    expect(reply).toEqual({
      model: 'claude-sonnet-4-6-20990101',
      content: [
        { type: 'text', text: 'Retrying with another path.' },
        { type: 'tool_use', id: 'toolu_2', name: 'write_file', input: { path: 'docs/README.md' } },
      ],
      stopReason: 'tool_use',
      usage: { inputTokens: 120, outputTokens: 30, cacheReadTokens: 50, cacheCreationTokens: 7 },
    });
    const [sent] = api.messageRequests();
    expect(keyOf(sent!)).toBe('sk-ant-test');
    expect(sent!.headers['anthropic-version']).toBeTruthy();
    expect(sent!.body).toEqual({
      model: 'claude-sonnet-4-6',
      max_tokens: 1024,
      system: 'You are an implementer.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Write the README' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'write_file', input: { path: 'README.md' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'permission denied', is_error: true }] },
      ],
      tools: [
        { name: 'write_file', description: 'Write a file', input_schema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } },
        { name: 'finish', description: 'Finish', input_schema: { type: 'object', properties: { output: { type: 'string' } } } },
      ],
      tool_choice: { type: 'auto' },
    });
  });

  it('reports null cache counts as 0, a forced tool choice, and the request model over the default', async () => {
    api.enqueue({ kind: 'message', message: { usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: null, cache_creation_input_tokens: null } } });
    const reply = await provider().complete({ ...request, model: 'claude-haiku-4-5', toolChoice: { type: 'tool', name: 'finish' } });
    expect(reply.usage).toEqual({ inputTokens: 3, outputTokens: 4, cacheReadTokens: 0, cacheCreationTokens: 0 });
    expect(reply.stopReason).toBe('end_turn');
    const body = api.messageRequests()[0]!.body as Record<string, unknown>;
    expect(body.model).toBe('claude-haiku-4-5');
    expect(body.tool_choice).toEqual({ type: 'tool', name: 'finish' });
  });

  it('omits system, tools and tool_choice when there are none, and caps max_tokens', async () => {
    api.enqueue({ kind: 'message' });
    await provider({ maxTokens: 256 }).complete({ system: '', messages: request.messages.slice(0, 1), tools: [], maxTokens: 4096, toolChoice: { type: 'any' } });
    const body = api.messageRequests()[0]!.body as Record<string, unknown>;
    expect(body).not.toHaveProperty('system');
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('tool_choice');
    expect(body.max_tokens).toBe(256);
  });

  it('retries a 429 after the retry-after it was given, then succeeds', async () => {
    api.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '0.3' } }, { kind: 'message', message: { content: [{ type: 'text', text: 'ok' }] } });
    const started = Date.now();
    const reply = await provider().complete(request);
    const [first, second] = api.messageRequests();
    expect(reply.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(api.messageRequests()).toHaveLength(2);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(second!.headers['x-stainless-retry-count']).toBe('1');
  });

  it('honours retry-after-ms on 5xx', async () => {
    api.enqueue({ kind: 'error', status: 503, headers: { 'retry-after-ms': '20' } }, { kind: 'message' });
    await provider().complete(request);
    expect(api.messageRequests()).toHaveLength(2);
  });

  it('gives up on 529 after maxRetries with a retryable ModelError carrying the status', async () => {
    const overloaded = { kind: 'error', status: 529, headers: { 'retry-after-ms': '5' } } as const;
    api.enqueue(overloaded, overloaded, overloaded);
    const error = await provider({ maxRetries: 2 }).complete(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ code: 'MODEL_ERROR', status: 529, retryable: true });
    expect(api.messageRequests()).toHaveLength(3);
  });

  it('does not retry a 400 and says it is not retryable', async () => {
    api.enqueue({ kind: 'error', status: 400, message: 'max_tokens: too large' });
    const error = await provider().complete(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_ERROR', status: 400, retryable: false });
    expect((error as Error).message).toContain('max_tokens: too large');
    expect((error as Error).message.split('max_tokens: too large')).toHaveLength(2); // said once, not the SDK's "400 {body}" again
    expect((error as Error).message).toMatch(/^model API error 400 \(\w+\): max_tokens: too large$/);
    expect(api.messageRequests()).toHaveLength(1);
  });

  it('streams above the max_tokens threshold and reassembles tool input from input_json_delta', async () => {
    const input = { path: 'src/server.ts', content: 'export const port = 8080;\n'.repeat(5) };
    api.enqueue({
      kind: 'message',
      message: {
        content: [{ type: 'text', text: 'Writing the server now.' }, { type: 'tool_use', id: 'toolu_s', name: 'write_file', input }],
        usage: { input_tokens: 900, output_tokens: 77, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 },
      },
    });
    const reply = await provider().complete({ ...request, maxTokens: 20_000 });
    expect((api.messageRequests()[0]!.body as { stream?: boolean }).stream).toBe(true);
    expect(reply).toMatchObject({
      content: [{ type: 'text', text: 'Writing the server now.' }, { type: 'tool_use', id: 'toolu_s', name: 'write_file', input }],
      stopReason: 'tool_use',
      usage: { inputTokens: 900, outputTokens: 77, cacheReadTokens: 100, cacheCreationTokens: 0 },
    });
  });

  it('maps an overloaded error in the middle of a stream to a retryable 529', async () => {
    api.enqueue({ kind: 'sse-error', type: 'overloaded_error' });
    const error = await provider({ streamAboveMaxTokens: 0 }).complete(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_ERROR', status: 529, retryable: true });
  });

  it('rejects with Aborted promptly when aborted mid-call, and the server sees the disconnect', async () => {
    api.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const error = await provider().complete(request, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Aborted);
    expect(Date.now() - started).toBeLessThan(1000);
    await vi.waitFor(() => expect(api.messageRequests()[0]!.clientClosedEarly).toBe(true));
  });

  it('rejects with Aborted when aborted mid-stream', async () => {
    api.enqueue({ kind: 'message', eventDelayMs: 40, message: { content: [{ type: 'text', text: 'x'.repeat(200) }] } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 120);
    const error = await provider({ streamAboveMaxTokens: 0 }).complete(request, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Aborted);
  });

  it('rejects with Aborted during a retry back-off', async () => {
    api.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '30' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await provider().complete(request, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Aborted);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('never calls when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider().complete(request, { signal: controller.signal })).rejects.toBeInstanceOf(Aborted);
    expect(api.requests).toHaveLength(0);
  });

  it('turns a per-attempt timeout into a retryable ModelError', async () => {
    api.enqueue({ kind: 'hang' });
    const error = await provider({ timeoutMs: 100, maxRetries: 0 }).complete(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_ERROR', retryable: true });
  });

  it('asks the rate limiter before each call and settles it with the real usage', async () => {
    const calls: string[] = [];
    const limiter: RateLimiter = {
      acquire: vi.fn(async () => {
        calls.push(`acquire:${api.messageRequests().length}`);
      }),
      settle: vi.fn(),
    };
    api.enqueue({ kind: 'message', message: { usage: { input_tokens: 40, output_tokens: 10, cache_creation_input_tokens: 5 } } });
    const model = provider({ rateLimiter: limiter });
    await model.complete(request);
    // The limiter takes the likely count (characters ÷ 3), not the budget's never-low bound:
    // over-asking a tokens-per-minute bucket by 3× would stall it.
    const likely = (limiter.acquire as ReturnType<typeof vi.fn>).mock.calls[0]![0] as number;
    expect(calls).toEqual(['acquire:0']);
    expect(likely).toBeLessThan(model.estimateInputTokens(request));
    expect(limiter.acquire).toHaveBeenCalledWith(likely, undefined);
    expect(limiter.settle).toHaveBeenCalledWith(40 + 5 + 10 - likely);
  });

  it('bounds input for budgets by UTF-8 bytes, so non-Latin text is never under-reserved', () => {
    const cjk = { ...request, messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: '漢'.repeat(3_000) }] }] };
    // A CJK character is 3 UTF-8 bytes and at least a token's worth of text: characters ÷ 3 counted it as a third.
    expect(provider().estimateInputTokens(cjk)).toBeGreaterThanOrEqual(9_000 + Buffer.byteLength(request.system) + Buffer.byteLength(JSON.stringify(request.tools)));
  });

  it('estimates input conservatively (at least the characters / 3, plus tool-use overhead)', () => {
    const chars = request.system.length + JSON.stringify(request.messages).length + JSON.stringify(request.tools).length;
    expect(provider().estimateInputTokens(request)).toBeGreaterThanOrEqual(Math.ceil(chars / 3) + 300);
  });

  it('serves count_tokens to the plain SDK', async () => {
    const client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: api.url, maxRetries: 0 });
    const counted = await client.messages.countTokens({ model: 'claude-sonnet-4-6', messages: [{ role: 'user', content: 'hi' }] });
    expect(counted.input_tokens).toBeGreaterThan(0);
  });

  it('createAgentSystem: a model option without a key takes the key, base URL and model from the environment', async () => {
    api.enqueue({ kind: 'message', message: { content: [{ type: 'text', text: 'done' }], usage: { input_tokens: 10, output_tokens: 2 } } });
    // This test and the next are about where the key comes from: on Postgres (a fresh schema),
    // not an in-memory PGlite each, the store being incidental to them.
    const system = await testSystem('postgres', {
      model: { provider: 'anthropic', maxTokens: 300, maxRetries: 0 },
      env: { ANTHROPIC_API_KEY: 'sk-ant-from-the-env', ANTHROPIC_BASE_URL: api.url, CADRE_MODEL: 'claude-from-env' },
    });
    try {
      const agent = await system.spawn({ role: 'solo', task: 'say done', budget: 5000 });
      expect((await agent.run()).status).toBe('completed');
    } finally {
      await system.close();
    }
    const [sent] = api.messageRequests();
    expect(keyOf(sent!)).toBe('sk-ant-from-the-env');
    expect(sent!.body).toMatchObject({ model: 'claude-from-env' });
    expect((sent!.body as { max_tokens: number }).max_tokens).toBeLessThanOrEqual(300);
  });

  it('an explicit key in the model option wins over the environment', async () => {
    api.enqueue({ kind: 'message', message: { content: [{ type: 'text', text: 'done' }], usage: { input_tokens: 10, output_tokens: 2 } } });
    const system = await testSystem('postgres', {
      model: { provider: 'anthropic', apiKey: 'sk-ant-explicit', baseURL: api.url, maxRetries: 0 },
      env: { ANTHROPIC_API_KEY: 'sk-ant-from-the-env' },
    });
    try {
      await (await system.spawn({ role: 'solo', task: 'say done', budget: 5000 })).run();
    } finally {
      await system.close();
    }
    expect(keyOf(api.messageRequests()[0]!)).toBe('sk-ant-explicit');
  });

  /** A Messages API reply as a hostile proxy or a broken fake would send it, usage as given. */
  const rawReply = (usage: unknown, content: unknown[] = [{ type: 'text', text: 'done' }]) => ({
    kind: 'raw' as const, status: 200, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content, stop_reason: 'end_turn', stop_sequence: null, usage }),
  });

  it('refuses a reply whose usage is not whole non-negative numbers, or whose tool calls share an id: a ModelError naming the field, not retried', async () => {
    const cases: Array<[unknown, RegExp, unknown[]?]> = [
      [{ input_tokens: -1_000_000, output_tokens: 0 }, /reply\.usage\.inputTokens: .*>=0/],
      [{ input_tokens: '12', output_tokens: 5 }, /reply\.usage\.inputTokens: .*number/],
      [{ input_tokens: 10.5, output_tokens: 5 }, /reply\.usage\.inputTokens: .*int/],
      [{ output_tokens: 5 }, /reply\.usage\.inputTokens/],
      [{ input_tokens: 10, output_tokens: -5 }, /reply\.usage\.outputTokens/],
      [{ input_tokens: 1e300, output_tokens: 5 }, /reply\.usage\.inputTokens/],
      // Each below 2^53 - 1, their sum not: a settlement no reader could open again.
      [{ input_tokens: 9_007_199_254_740_991, output_tokens: 9_007_199_254_740_991 }, /reply\.usage\.inputTokens: must be at most 1,000,000,000 tokens/],
      [{ input_tokens: 10, output_tokens: 1_000_000_001 }, /reply\.usage\.outputTokens: must be at most 1,000,000,000 tokens/],
      [{ input_tokens: 10, output_tokens: 5 }, /reply\.content: tool_use ids must be unique/, [
        { type: 'tool_use', id: 't1', name: 'write_file', input: { path: 'a' } }, { type: 'tool_use', id: 't1', name: 'write_file', input: { path: 'b' } }]],
    ];
    for (const [usage, message, content] of cases) {
      api.reset();
      api.enqueue(rawReply(usage, content));
      const error = await checkingModel(provider()).complete(request).catch((e: unknown) => e);
      expect(error, JSON.stringify(usage)).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ retryable: false });
      expect((error as Error).message, JSON.stringify(usage)).toMatch(/^the model API sent an invalid reply: /);
      expect((error as Error).message, JSON.stringify(usage)).toMatch(message);
      expect(api.messageRequests()).toHaveLength(1);
    }
  });

  it('stops reading a reply past its size limit (1 MiB and 256 bytes per max_tokens): an answered ModelError, sent once, whether its length is declared, chunked or streamed', async () => {
    // request.maxTokens is 1,024: 1,310,720 bytes at most. A 150 MB reply held 2.2 GB of the process.
    const huge = 'A'.repeat(3 * 1024 * 1024);
    const body = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [{ type: 'text', text: huge }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 10 } });
    for (const declared of [true, false]) {
      api.reset();
      api.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json', ...(declared ? { 'content-length': String(Buffer.byteLength(body)) } : {}) }, body });
      const error = await checkingModel(provider()).complete(request).catch((e: unknown) => e);
      expect(error, `declared ${declared}`).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ answered: true, retryable: false });
      expect((error as Error).message).toMatch(declared ? /reply declares 3,145,\d{3} bytes, more than its max_tokens allows \(1,310,720 bytes at most\)/ : /reply went past 1,310,720 bytes/);
      expect(api.messageRequests()).toHaveLength(1);
    }
    api.reset();
    api.enqueue({ kind: 'message', message: { content: [{ type: 'text', text: huge }], usage: { input_tokens: 10, output_tokens: 10 } } });
    const streamed = await checkingModel(provider({ streamAboveMaxTokens: 0 })).complete(request).catch((e: unknown) => e);
    expect(streamed).toMatchObject({ code: 'MODEL_ERROR', answered: true });
    expect((streamed as Error).message).toMatch(/went past 1,310,720 bytes/);
    expect(api.messageRequests()).toHaveLength(1);
    // Just under it, read whole.
    api.reset();
    api.enqueue(rawReply({ input_tokens: 10, output_tokens: 20_000 }, [{ type: 'text', text: 'B'.repeat(1_200_000) }]));
    expect((await checkingModel(provider()).complete(request)).content).toEqual([{ type: 'text', text: 'B'.repeat(1_200_000) }]);
  });

  it('refuses a reply far larger than its reported output tokens can write (64 bytes a token), as answered; takes a reply they can', async () => {
    const text = 'word '.repeat(40_000); // 200,000 bytes
    api.enqueue(rawReply({ input_tokens: 10, output_tokens: 10 }, [{ type: 'text', text }]));
    const error = await checkingModel(provider()).complete(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ answered: true, retryable: false });
    expect((error as Error).message).toBe('the model API\'s usage cannot be true: the reply holds 200,000 bytes of output but reports 10 output tokens (a token stands for at most 64 bytes)');
    // Tool inputs count too.
    api.reset();
    api.enqueue(rawReply({ input_tokens: 10, output_tokens: 10 }, [{ type: 'tool_use', id: 't1', name: 'write_file', input: { path: 'a', content: text } }]));
    expect(await checkingModel(provider()).complete(request).catch((e: unknown) => e)).toMatchObject({ answered: true, message: expect.stringMatching(/usage cannot be true/) });
    // 40,000 tokens of one short word each: 5 bytes a token.
    api.reset();
    api.enqueue(rawReply({ input_tokens: 10, output_tokens: 40_000 }, [{ type: 'text', text }]));
    expect((await checkingModel(provider()).complete(request)).usage.outputTokens).toBe(40_000);
  });

  it('an agent whose model sends a reply past its size limit is charged its reservation, not nothing', async () => {
    const body = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-6', content: [{ type: 'text', text: 'A'.repeat(40 * 1024 * 1024) }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 10 } });
    api.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body });
    const system = await testSystem('pglite', { model: { provider: 'anthropic', apiKey: 'sk-ant-test', baseURL: api.url, maxRetries: 0 } });
    try {
      const agent = await system.spawn({ role: 'solo', task: 'say done', budget: 50_000 });
      const result = await agent.run();
      expect(result).toMatchObject({ status: 'failed' });
      expect(result.reason).toMatch(/reply went past [\d,]+ bytes.*charged its reservation of \d+ tokens, since the provider answered/);
      const history = await system.history(agent.id);
      const asked = history.find((e) => e.type === 'ModelRequested');
      const reserved = asked?.type === 'ModelRequested' ? asked.data.reserved : NaN;
      expect(reserved).toBeGreaterThan(0);
      expect((await agent.state()).budget).toMatchObject({ consumed: reserved, reserved: 0 });
      expect(api.messageRequests()).toHaveLength(1);
    } finally {
      await system.close();
    }
  });

  it('a 200 reply that is not a Messages API message fails plainly, once: no TypeError, no doubled "model call failed"', async () => {
    api.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ nonsense: true }) });
    const error = await checkingModel(provider()).complete(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect((error as Error).message).toBe('the model API\'s reply is not a Messages API message: it has no content array');
    // It answered: charged its reservation, as any answered reply that fails a check.
    expect(error).toMatchObject({ answered: true });
    expect(api.messageRequests()).toHaveLength(1);
  });

  it('a 200 reply whose body is not JSON ("input_tokens": NaN) is answered, so charged its reservation: it was charged nothing', async () => {
    const body = JSON.stringify({ id: 'msg_nan', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } }).replace('"input_tokens":1', '"input_tokens":NaN');
    api.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body });
    const error = await checkingModel(provider()).complete(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelError);
    expect(error).toMatchObject({ answered: true, retryable: false, message: expect.stringMatching(/answered with a body that is not JSON/) });
    expect(api.messageRequests()).toHaveLength(1);
  });

  it('an agent whose model reports negative usage fails the call: no tokens handed out, the answered call charged its reservation, and every read still opens its history', async () => {
    api.enqueue(rawReply({ input_tokens: -40_000, output_tokens: -5_000 }));
    const system = await testSystem('pglite', { model: { provider: 'anthropic', apiKey: 'sk-ant-test', baseURL: api.url, maxRetries: 0 } });
    try {
      const agent = await system.spawn({ role: 'solo', task: 'say done', budget: 10_000 });
      const result = await agent.run();
      expect(result).toMatchObject({ status: 'failed' });
      expect(result.reason).toMatch(/invalid reply: reply\.usage\.inputTokens.*charged its reservation of \d+ tokens, since the provider answered/);
      const state = await agent.state();
      const history = await system.history(agent.id);
      const asked = history.find((e) => e.type === 'ModelRequested');
      const reserved = asked?.type === 'ModelRequested' ? asked.data.reserved : NaN;
      // The provider answered and bills it; what it used is unknown, so the most it could have cost.
      expect(reserved).toBeGreaterThan(0);
      expect(state.budget).toMatchObject({ allocated: 10_000, consumed: reserved, reserved: 0, available: 10_000 - reserved, overspent: 0 });
      expect(history.map((e) => e.type).slice(-3)).toEqual(['ModelFailed', 'BudgetSettled', 'AgentFailed']);
      expect(state.costUsd).toBeGreaterThan(0);
      expect(await system.replay(agent.id)).toEqual(state);
    } finally {
      await system.close();
    }
  });

  it('a child whose model reports counts that add up past 2^53 fails the call: its history, its parent\'s and the tree still open, and the budgets add up', async () => {
    api.enqueue(rawReply({ input_tokens: 9_007_199_254_740_991, output_tokens: 9_007_199_254_740_991 }));
    const system = await testSystem('pglite', { model: { provider: 'anthropic', apiKey: 'sk-ant-test', baseURL: api.url, maxRetries: 0 } });
    try {
      const lead = await system.spawn({ role: 'lead', task: 'delegate', budget: 100_000 });
      const child = await lead.spawn({ role: 'solo', task: 'say done', budget: 10_000 });
      const result = await child.run();
      expect(result).toMatchObject({ status: 'failed' });
      expect(result.reason).toMatch(/reply\.usage\.inputTokens: must be at most 1,000,000,000 tokens/);
      // Charged its reservation (at most its 10,000), never the reported sum.
      expect(result.budgetConsumed).toBeGreaterThan(0);
      expect(result.budgetConsumed).toBeLessThanOrEqual(10_000);
      for (const agent of [child, lead]) {
        expect((await system.history(agent.id)).length).toBeGreaterThan(1);
        expect(await system.replay(agent.id)).toEqual(await agent.state());
      }
      expect((await lead.state()).budget).toMatchObject({ allocated: 100_000, consumed: 0, spentBySubtree: result.budgetConsumed, available: 100_000 - result.budgetConsumed, overspent: 0 });
    } finally {
      await system.close();
    }
  });

  it('never sent a request anywhere but 127.0.0.1', () => {
    expect(fetched.length).toBeGreaterThan(10);
    for (const url of fetched) expect(new URL(url).hostname).toBe('127.0.0.1');
  });
});
