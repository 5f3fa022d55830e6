import type { ModelProvider, ModelReply, ModelRequest } from '../../actors/ports/modelProvider.js';
import { ModelError } from '../../errors.js';
import { formatPath } from '../../validation.js';
import { ModelReplySchema } from './modelReplySchema.js';
import { requestBytes } from './requestBytes.js';
import { wrapComplete } from './wrapComplete.js';

/**
 * A provider whose replies are parsed before they are charged or acted on: usage that is not a
 * whole non-negative number (a proxy or a fake Messages API that sends -1000000, "12" or
 * nothing; a custom provider's bug) would hand tokens out of budgets and store events no reader
 * can open again; two tool calls with one id would leave one unanswered; a reply far larger than
 * its output tokens can write lies about them. Such a reply fails the
 * call with a ModelError naming the field, not retried: the same server would send the same.
 * The call was answered, so it is charged its reservation (`answered`), not given free.
 *
 * @example
 * const model = checkingModel(createModelProvider(config));
 */
export function checkingModel(model: ModelProvider): ModelProvider {
  return wrapComplete(model, async (request, options) => checkedReply(await model.complete(request, options), request));
}

function checkedReply(reply: ModelReply, request: ModelRequest): ModelReply {
  const parsed = ModelReplySchema.safeParse(reply);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ModelError(`the model API sent an invalid reply: ${formatPath('reply', issue.path)}: ${issue.message}`, { answered: true });
  }
  const bytes = outputBytes(reply);
  if (bytes > BYTES_WITHOUT_CHECK + reply.usage.outputTokens * MAX_BYTES_PER_TOKEN) {
    throw new ModelError(`the model API's usage cannot be true: the reply holds ${bytes.toLocaleString('en-US')} bytes of output but reports ${reply.usage.outputTokens.toLocaleString('en-US')} output tokens (a token stands for at most ${MAX_BYTES_PER_TOKEN} bytes)`, { answered: true });
  }
  // The same for what it read: a request of 6 MB charged 0 input tokens (a hostile-model try).
  const sent = requestBytes(request);
  const read = reply.usage.inputTokens + reply.usage.cacheReadTokens + reply.usage.cacheCreationTokens;
  // Nothing is read for free: a server reporting 0 tokens for every call let a model grow 364
  // agents (and as many worktrees) from a 12,000-token budget, each child handing its whole
  // allocation back at its end (a hostile-model try). With a token a call at least, a tree's
  // calls, and so its agents, are bounded by its budget.
  if (read === 0) throw new ModelError('the model API\'s usage cannot be true: the reply reports 0 input tokens, cache included, for a request it read', { answered: true });
  if (sent > BYTES_WITHOUT_CHECK + read * MAX_BYTES_PER_TOKEN) {
    throw new ModelError(`the model API's usage cannot be true: the request held ${sent.toLocaleString('en-US')} bytes but the reply reports ${read.toLocaleString('en-US')} input tokens, cache included (a token stands for at most ${MAX_BYTES_PER_TOKEN} bytes)`, { answered: true });
  }
  return reply;
}

/**
 * The most bytes one token can stand for, read or written: Claude's tokens are word pieces of a
 * few bytes, the longest runs of spaces or punctuation a few dozen. A server's 60 MB reply that
 * reported 10 output tokens was charged 20 tokens (found by a hostile-model try).
 */
export const MAX_BYTES_PER_TOKEN = 64;
/** Replies (and requests) up to this size are not held to it: a small lie costs little, and a test's fixed usage stays valid. */
const BYTES_WITHOUT_CHECK = 16 * 1024;

/** The UTF-8 bytes of what the model wrote: its text, and its tool calls' names and inputs as JSON. */
function outputBytes(reply: ModelReply): number {
  let bytes = 0;
  for (const b of reply.content) bytes += b.type === 'text' ? Buffer.byteLength(b.text, 'utf8') : Buffer.byteLength(b.name, 'utf8') + Buffer.byteLength(JSON.stringify(b.input) ?? '', 'utf8');
  return bytes;
}
