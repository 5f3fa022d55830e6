import type { ModelRequest } from '../../actors/ports/modelProvider.js';

/** Framing the API adds around each message (role markers, block boundaries); generous on purpose. */
const PER_MESSAGE_OVERHEAD = 16;

/**
 * A likely count of a request's input tokens: characters ÷ 3 over the serialised system
 * prompt, messages and tool specs. Claude's tokenizer averages nearer 4 characters per token
 * on English prose, but this is low for non-Latin text and symbol-heavy prompts, so it is NOT
 * a bound: budget reservations against Claude use inputTokenBound. It serves the rate limiter
 * (which settles the difference) and is the offline model's own reported usage.
 *
 * `extraTokens` lets an adapter add what its API injects invisibly (Anthropic prepends a
 * tool-use system prompt of a few hundred tokens whenever tools are offered).
 *
 * @example
 * const likely = estimateInputTokens(request);
 */
export function estimateInputTokens(request: ModelRequest, extraTokens = 0): number {
  const chars = request.system.length + JSON.stringify(request.messages).length + JSON.stringify(request.tools).length;
  return Math.ceil(chars / 3) + PER_MESSAGE_OVERHEAD * request.messages.length + extraTokens;
}
