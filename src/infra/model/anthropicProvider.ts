import type Anthropic from '@anthropic-ai/sdk';
import type * as AnthropicSdk from '@anthropic-ai/sdk';

/** The SDK module, loaded on the first call: it is ~250 modules, which commands that never call a model should not pay for. */
type Sdk = typeof AnthropicSdk;
import type { Logger } from 'pino';
import type {
  ModelContentBlock,
  ModelProvider,
  ModelReply,
  ModelRequest,
  ModelTextBlock,
  ModelToolUseBlock,
  StopReason,
} from '../../actors/ports/modelProvider.js';
import { Aborted, InvalidInput, ModelError, isCadreError } from '../../errors.js';
import { abortReason } from './abortableSleep.js';
import { estimateInputTokens } from './estimateInputTokens.js';
import { inputTokenBound } from './inputTokenBound.js';
import type { RateLimiter } from './rateLimiter.js';
import { createRateLimiter } from './rateLimiter.js';
import { KEY_SAFE_BASE_URL_MESSAGE, keySafeBaseUrl } from './keySafeBaseUrl.js';
import { sizeLimitedFetch } from './replySizeLimit.js';

export const DEFAULT_ANTHROPIC_MODEL = 'claude-sonnet-4-6';
export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
/** Retries after the first attempt; the SDK backs off exponentially and honours retry-after. */
export const DEFAULT_MAX_RETRIES = 4;
/**
 * Above this max_tokens the call streams. The SDK refuses a non-streaming call it expects to
 * outlast its 10-minute timeout (about 21k max_tokens), and long idle HTTP responses are
 * fragile behind proxies; streaming keeps bytes flowing. The caller still gets one reply.
 */
export const DEFAULT_STREAM_ABOVE_MAX_TOKENS = 16_000;
/**
 * Anthropic adds a tool-use system prompt of roughly 300–350 tokens whenever tools are
 * offered; the estimate must cover it to stay never-low.
 */
const TOOL_USE_PROMPT_TOKENS = 500;

export interface AnthropicProviderOptions {
  readonly apiKey: string;
  /** Default `https://api.anthropic.com`; always passed explicitly so no environment variable redirects calls. */
  readonly baseURL?: string;
  /** Model used when a request names none. */
  readonly model?: string;
  /** Upper bound on max_tokens sent per call (requests asking for more are capped). */
  readonly maxTokens?: number;
  readonly maxRetries?: number;
  /** Per-attempt timeout in milliseconds (the SDK's `timeout`). */
  readonly timeoutMs?: number;
  readonly rateLimit?: { readonly requestsPerMinute?: number; readonly tokensPerMinute?: number };
  /** A limiter shared with other providers (wins over `rateLimit`). */
  readonly rateLimiter?: RateLimiter;
  readonly streamAboveMaxTokens?: number;
  readonly logger?: Logger;
}

/**
 * The Claude adapter: maps cadre's `ModelRequest` to the Messages API through the official
 * SDK and the reply back. The SDK retries 408/409/429/5xx/529 with backoff (honouring
 * `retry-after` and `retry-after-ms`) up to `maxRetries`; what still fails becomes a
 * `ModelError` carrying the HTTP status and whether a later retry could succeed. An abort
 * through `options.signal` rejects with `Aborted`. A per-provider rate limiter runs before
 * each call.
 *
 * @example
 * const model = createAnthropicProvider({ apiKey, rateLimit: { requestsPerMinute: 50 } });
 * const reply = await model.complete({ system, messages, tools, maxTokens: 4096 }, { signal });
 */
export function createAnthropicProvider(options: AnthropicProviderOptions): ModelProvider {
  if (options.baseURL !== undefined && !keySafeBaseUrl(options.baseURL)) throw new InvalidInput('baseURL', KEY_SAFE_BASE_URL_MESSAGE);
  const defaultModel = options.model ?? DEFAULT_ANTHROPIC_MODEL;
  const streamAbove = options.streamAboveMaxTokens ?? DEFAULT_STREAM_ABOVE_MAX_TOKENS;
  const log = options.logger?.child({ component: 'model', provider: 'anthropic' });
  let loaded: Promise<{ sdk: Sdk; client: Anthropic }> | null = null;
  const load = (): Promise<{ sdk: Sdk; client: Anthropic }> =>
    (loaded ??= import('@anthropic-ai/sdk').then((sdk) => ({
      sdk,
      client: new sdk.default({
        apiKey: options.apiKey,
        baseURL: options.baseURL ?? DEFAULT_ANTHROPIC_BASE_URL,
        maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
        // Looked up per call, so a test's (or a user's) replaced global fetch is the one used.
        fetch: sizeLimitedFetch((input, init) => globalThis.fetch(input, init)),
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
        ...(log ? { logger: log.child({ component: 'anthropic-sdk' }), logLevel: 'warn' as const } : {}),
      }),
    })));
  const limiter = options.rateLimiter ?? createRateLimiter(options.rateLimit ?? {});
  // The rate limiter wants a likely count (over-asking would stall a tokens-per-minute limit);
  // the budget wants one that is never low (inputTokenBound): two questions, two answers.
  const estimate = (request: ModelRequest): number =>
    estimateInputTokens(request, request.tools.length > 0 ? TOOL_USE_PROMPT_TOKENS : 0);

  return {
    name: 'anthropic',
    isLLM: true,
    defaultModel,
    estimateInputTokens: inputTokenBound,
    async complete(request, callOptions = {}) {
      const { signal, onText } = callOptions;
      const reserved = estimate(request);
      await limiter.acquire(reserved, signal);
      const params = toMessageParams(request, defaultModel, options.maxTokens);
      const started = Date.now();
      const { sdk, client } = await load();
      try {
        // Streamed when someone watches the text arrive (onText), or when a reply may be long.
        const message =
          onText || params.max_tokens > streamAbove
            ? await client.messages.stream(params, { signal }).on('text', (delta) => onText?.(delta)).finalMessage()
            : await client.messages.create(params, { signal });
        const reply = fromMessage(message);
        // Cache reads do not count against Anthropic's input-token rate limit for current models.
        const { inputTokens, outputTokens, cacheCreationTokens } = reply.usage;
        limiter.settle(inputTokens + cacheCreationTokens + outputTokens - reserved);
        log?.debug({ model: reply.model, stopReason: reply.stopReason, usage: reply.usage, ms: Date.now() - started }, 'model call');
        return reply;
      } catch (error) {
        const mapped = toCadreError(sdk, error, signal, options.baseURL ?? DEFAULT_ANTHROPIC_BASE_URL);
        // The message says it all (status, type, the API's words); the error object — its stack, and
        // pino's "message: cause message", which repeated the body — only at debug.
        // An abort is the caller's own doing (a fire, a timeout, Ctrl-C): not a warning on every one.
        if (mapped instanceof Aborted) log?.debug({ model: params.model, err: mapped.message, ms: Date.now() - started }, 'model call aborted');
        else log?.warn({ model: params.model, err: mapped.message, ms: Date.now() - started }, 'model call failed');
        log?.debug({ model: params.model, err: mapped }, 'model call failed (detail)');
        throw mapped;
      }
    },
  };
}

/** cadre request → Messages API parameters. `agent` is cadre's own and never leaves the process. */
export function toMessageParams(request: ModelRequest, defaultModel: string, maxTokensCap?: number): Anthropic.MessageCreateParamsNonStreaming {
  const maxTokens = maxTokensCap === undefined ? request.maxTokens : Math.min(request.maxTokens, maxTokensCap);
  const params: Anthropic.MessageCreateParamsNonStreaming = {
    model: request.model ?? defaultModel,
    max_tokens: maxTokens,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content.map(toBlockParam) })),
  };
  if (request.system !== '') params.system = request.system;
  if (request.tools.length > 0) {
    params.tools = request.tools.map((t) => ({
      name: t.name,
      description: t.description,
      input_schema: { type: 'object', ...t.inputSchema } as Anthropic.Tool.InputSchema,
    }));
    if (request.toolChoice) params.tool_choice = request.toolChoice;
  }
  return params;
}

function toBlockParam(block: ModelContentBlock): Anthropic.ContentBlockParam {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    case 'tool_result':
      return { type: 'tool_result', tool_use_id: block.toolUseId, content: block.content, ...(block.isError ? { is_error: true } : {}) };
    default: {
      const never: never = block;
      throw new ModelError(`unknown content block ${JSON.stringify(never)}`);
    }
  }
}

/** Messages API reply → cadre reply. Block types cadre does not use (thinking, server tools) are dropped. */
export function fromMessage(message: Anthropic.Message): ModelReply {
  // A server that is not the Messages API (a proxy's error page answered 200, say): said plainly,
  // not as the TypeError reading it would throw.
  // It answered (200), so it is charged as any answered reply that fails a check (SECURITY.md).
  if (!Array.isArray((message as { content?: unknown }).content)) throw new ModelError('the model API\'s reply is not a Messages API message: it has no content array', { answered: true });
  const content: (ModelTextBlock | ModelToolUseBlock)[] = [];
  for (const block of message.content) {
    if (block.type === 'text') content.push({ type: 'text', text: block.text });
    else if (block.type === 'tool_use') content.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input });
  }
  // Checked by checkingModel before anyone charges it: a missing usage reads as missing counts.
  const u = message.usage ?? {};
  return {
    model: message.model,
    content,
    stopReason: toStopReason(message.stop_reason),
    usage: {
      inputTokens: u.input_tokens,
      outputTokens: u.output_tokens,
      cacheReadTokens: u.cache_read_input_tokens ?? 0,
      cacheCreationTokens: u.cache_creation_input_tokens ?? 0,
    },
  };
}

function toStopReason(reason: Anthropic.Message['stop_reason']): StopReason {
  switch (reason) {
    case 'end_turn':
    case 'tool_use':
    case 'max_tokens':
    case 'stop_sequence':
    case 'refusal':
    case 'pause_turn':
      return reason;
    // The context window ran out before max_tokens: to the agent loop it is the same cut-off.
    case 'model_context_window_exceeded':
      return 'max_tokens';
    default:
      return 'end_turn';
  }
}

/** HTTP statuses the SDK retries; after its retries are spent, a later attempt may still work. */
const isRetryableStatus = (status: number): boolean => status === 408 || status === 409 || status === 429 || status >= 500;

/** Error types an SSE `error` event carries (no HTTP status there) → the status they stand for. */
const STATUS_OF_TYPE: Readonly<Record<string, number>> = {
  overloaded_error: 529,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
};

/**
 * What the API said, once: ` (rate_limit_error): Number of request tokens…` from the error body
 * the SDK parsed; its own message is "429 {the whole body}", which repeated the status and JSON.
 */
function apiErrorText(error: InstanceType<Sdk['APIError']>): string {
  const body = (error as { error?: unknown }).error as { error?: { type?: unknown; message?: unknown } } | undefined;
  const inner = body?.error;
  if (inner && typeof inner.message === 'string') return `${typeof inner.type === 'string' ? ` (${inner.type})` : ''}: ${inner.message}`;
  return `: ${error.message}`;
}

/** A URL's scheme, host and port (no user, password, path or query). */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the configured base URL';
  }
}

/** `error` and the causes below it, at most 10 deep. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** SDK errors → cadre's error family; the SDK error stays as `cause`. */
export function toCadreError(sdk: Sdk, error: unknown, signal?: AbortSignal, baseURL?: string): Error {
  const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, AnthropicError } = sdk;
  if (isCadreError(error)) return error;
  // A reply cut at its size limit (replySizeLimit.ts), however the SDK wrapped the body's error.
  const tooLarge = causeChain(error).find((e) => e instanceof ModelError && e.answered);
  if (tooLarge) return tooLarge as ModelError;
  if (error instanceof APIUserAbortError || signal?.aborted) return new Aborted(abortReason(signal) ?? 'the model call was aborted');
  if (error instanceof APIConnectionTimeoutError) return new ModelError('the model call timed out', { retryable: true, cause: error });
  // Where it tried, without any credentials in the address: "Connection error." named neither the
  // server nor the setting (a new user's try with a wrong ANTHROPIC_BASE_URL).
  if (error instanceof APIConnectionError) return new ModelError(`cannot reach the model API${baseURL ? ` at ${originOf(baseURL)} (ANTHROPIC_BASE_URL)` : ''}: ${error.message}`, { retryable: true, cause: error });
  if (error instanceof APIError) {
    const status = error.status ?? (error.type ? STATUS_OF_TYPE[error.type] : undefined);
    return new ModelError(`model API error${status === undefined ? '' : ` ${status}`}${apiErrorText(error)}`, {
      ...(status === undefined ? {} : { status }),
      retryable: status !== undefined && isRetryableStatus(status),
      cause: error,
    });
  }
  if (error instanceof AnthropicError) return new ModelError(error.message, { cause: error });
  // A success whose body is not JSON (`"input_tokens": NaN`): the provider answered, so it is
  // charged its reservation like any answered reply that fails a check; it was charged nothing.
  if (causeChain(error).some((e) => e instanceof SyntaxError)) return new ModelError(`the model API answered with a body that is not JSON: ${error instanceof Error ? error.message : String(error)}`, { answered: true, cause: error });
  // The agent's failure reason adds "model call failed: " itself (modelTurn.ts).
  return new ModelError(error instanceof Error ? error.message : String(error), { cause: error });
}
