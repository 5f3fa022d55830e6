import type { ModelRequest } from '../../actors/ports/modelProvider.js';
import { requestBytes } from './requestBytes.js';

/** The tool-use system prompt the API adds when tools are offered: 346 tokens at most per Anthropic's tool-use docs (Claude 4 models); doubled for margin. */
export const TOOL_USE_PROMPT_BOUND = 700;
/** Framing per message (role markers, turn and block boundaries): a handful of tokens; generous. */
const PER_MESSAGE_BOUND = 32;
/** Framing per tool definition (its name, description and schema wrapped in the API's tool block). */
const PER_TOOL_BOUND = 64;
/** Framing of the request as a whole (start/end of the prompt, system block). */
const PER_REQUEST_BOUND = 64;

/**
 * An input-token count that is never lower than what the Messages API will bill, for budget
 * reservations: reserve this plus the clamped `max_tokens` and the call cannot overspend.
 *
 * Why it is an upper bound: Claude's tokenizer is a byte-level BPE, so every token it makes
 * from text stands for at least one byte of that text: a text never has more tokens than
 * UTF-8 bytes. The JSON of the messages and tools contains every string the API tokenizes
 * (escaped, which only lengthens it) plus punctuation, so its byte length covers all their
 * content tokens. What the API adds beyond the content is framing of fixed size: per message,
 * per tool, per request, and the tool-use system prompt when tools are offered — each bounded
 * by a constant above that is a multiple of the documented or measured size. Characters ÷ 3
 * (estimateInputTokens) was low for non-Latin text (a CJK character is 3 bytes and often a
 * token of its own) and for symbol-heavy tool schemas; bytes are not.
 *
 * The price is a larger hold while the call runs (about 3–4× the real input for English);
 * the settlement gives the difference back the moment the reply lands.
 *
 * @example
 * const reserve = inputTokenBound(request) + request.maxTokens;
 */
export function inputTokenBound(request: ModelRequest): number {
  return requestBytes(request)
    + PER_REQUEST_BOUND
    + PER_MESSAGE_BOUND * request.messages.length
    + PER_TOOL_BOUND * request.tools.length
    + (request.tools.length > 0 ? TOOL_USE_PROMPT_BOUND : 0);
}
