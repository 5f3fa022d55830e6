import type { ModelRequest } from '../../actors/ports/modelProvider.js';

/** Framing the API adds around each message (role markers, block boundaries); generous on purpose. */
const PER_MESSAGE_OVERHEAD = 16;

/**
 * A conservative (never low) estimate of a request's input tokens, used to reserve budget
 * before a call. Claude's tokenizer averages nearer 4 characters per token on prose, so
 * dividing by 3 over the serialised system prompt, messages and tool specs over-reserves a
 * little; the reply's real usage settles the difference.
 *
 * `extraTokens` lets an adapter add what its API injects invisibly (Anthropic prepends a
 * tool-use system prompt of a few hundred tokens whenever tools are offered).
 *
 * @example
 * const reserve = estimateInputTokens(request) + request.maxTokens;
 */
export function estimateInputTokens(request: ModelRequest, extraTokens = 0): number {
  const chars = request.system.length + JSON.stringify(request.messages).length + JSON.stringify(request.tools).length;
  return Math.ceil(chars / 3) + PER_MESSAGE_OVERHEAD * request.messages.length + extraTokens;
}
