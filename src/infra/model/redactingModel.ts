import type { ModelProvider, ModelReply } from '../../actors/ports/modelProvider.js';
import type { Redactor } from '../redact.js';
import { redactedTextStream } from './redactedTextStream.js';
import { wrapComplete } from './wrapComplete.js';

/**
 * A provider whose replies and errors carry no secret. The reply is recorded (`ModelReplied`,
 * `ToolCalled`) and read by every process on the store, most of which do not know this one's
 * secrets (an MCP server's env values): a model that repeats a secret it saw in a tool result
 * would put it in the history for good, so its text and tool inputs are redacted here, before
 * anything records them (the conversation replayed to the model is the redacted one too).
 * Errors: an API or a proxy that echoes the key
 * (`invalid x-api-key: sk-ant-…`) or a base URL with credentials would otherwise put it in the
 * agent's failure reason, its events and the logs. The error keeps its class and fields
 * (`retryable`); only its text is redacted, before anyone can record it. Text streamed to
 * watchers (onText) is redacted on its way out too.
 */
export function redactingModel(model: ModelProvider, redactor: Redactor): ModelProvider {
  const clean = (err: unknown): unknown => {
    if (err instanceof Error) {
      err.message = redactor.text(err.message);
      if (err.stack) err.stack = redactor.text(err.stack);
      // The SDK's error (with the echoed body) hangs off `cause`; nothing downstream needs it.
      if ('cause' in err && err.cause instanceof Error) clean(err.cause);
    }
    return err;
  };
  return wrapComplete(model, async (request, options = {}) => {
    // Streamed text is shown to watchers as it comes: redacted too, a whole word at a time.
    const stream = options.onText ? redactedTextStream((t) => redactor.text(t), options.onText) : null;
    try {
      return redactReply(await model.complete(request, stream ? { ...options, onText: (t) => stream.push(t) } : options), redactor);
    } catch (err) {
      throw clean(err);
    } finally {
      stream?.end();
    }
  });
}

/** The reply with every string of its text and tool inputs redacted; strings only, keys kept. */
function redactReply(reply: ModelReply, redactor: Redactor): ModelReply {
  // The input came from JSON, so a JSON round trip with a reviver visits every string at any depth.
  const strings = (input: unknown): unknown => (input === undefined ? input : JSON.parse(JSON.stringify(input), (_k, v: unknown) => (typeof v === 'string' ? redactor.text(v) : v)));
  return { ...reply, content: reply.content.map((b) => (b.type === 'text' ? { ...b, text: redactor.text(b.text) } : { ...b, input: strings(b.input) })) };
}
