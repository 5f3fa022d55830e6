/**
 * The model port. The agent loop talks to every model (Claude through the Anthropic SDK, the
 * deterministic offline model, a scripted one in tests) through this interface only. Every
 * request and reply is plain data so it can be recorded as an event and replayed exactly.
 */
export interface ModelToolSpec {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the tool's input object. */
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

export type ModelTextBlock = { readonly type: 'text'; readonly text: string };
export type ModelToolUseBlock = { readonly type: 'tool_use'; readonly id: string; readonly name: string; readonly input: unknown };
export type ModelToolResultBlock = {
  readonly type: 'tool_result';
  readonly toolUseId: string;
  readonly content: string;
  readonly isError?: boolean;
};
export type ModelContentBlock = ModelTextBlock | ModelToolUseBlock | ModelToolResultBlock;

export interface ModelMessage {
  readonly role: 'user' | 'assistant';
  readonly content: readonly ModelContentBlock[];
}

export interface ModelRequest {
  /** Model name; the provider's default when absent. */
  readonly model?: string;
  readonly system: string;
  readonly messages: readonly ModelMessage[];
  readonly tools: readonly ModelToolSpec[];
  readonly maxTokens: number;
  /** `tool` forces one named tool (structured output); `any` forces some tool. */
  readonly toolChoice?: { readonly type: 'auto' | 'any' } | { readonly type: 'tool'; readonly name: string };
  /** Who is asking: lets the offline model apply its rules; never sent to a real API. */
  readonly agent?: { readonly id: string; readonly role: string; readonly task: string; readonly hasWorkspace: boolean };
}

export interface ModelUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheCreationTokens: number;
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'refusal' | 'pause_turn';

export interface ModelReply {
  /** The model that actually answered (as the API reports it). */
  readonly model: string;
  readonly content: readonly (ModelTextBlock | ModelToolUseBlock)[];
  readonly stopReason: StopReason;
  readonly usage: ModelUsage;
}

export interface ModelCallOptions {
  readonly signal?: AbortSignal;
  /**
   * Called with the reply's text as it arrives, piece by piece, when someone watches (progress
   * for live views; nothing is recorded from it: the reply is, once complete). A provider that
   * cannot stream may call it once with the whole text, or not at all.
   */
  readonly onText?: (delta: string) => void;
}

/**
 * @example
 * const reply = await provider.complete({ system, messages, tools, maxTokens: 1024 }, { signal });
 */
export interface ModelProvider {
  /** `anthropic`, `offline`, `scripted`, ... */
  readonly name: string;
  /** False for the offline and scripted providers: they are not language models, and say so. */
  readonly isLLM: boolean;
  readonly defaultModel: string;
  complete(request: ModelRequest, options?: ModelCallOptions): Promise<ModelReply>;
  /**
   * An input-token count never below what the provider will report for this request: the
   * runtime reserves it plus the clamped max_tokens, so a truthful provider cannot overspend
   * (Claude: src/infra/model/inputTokenBound.ts; offline and scripted models report usage
   * from their own estimate or script). A reply that reports more is an overspend.
   */
  estimateInputTokens(request: ModelRequest): number;
}

/** Total tokens a reply consumed for budget purposes. */
export const totalTokens = (u: ModelUsage): number => u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheCreationTokens;
