import type { ModelProvider, ModelReply } from '../../actors/ports/modelProvider.js';
import type { Redactor } from '../redact.js';
import { storableReply } from '../../actors/storableReply.js';
import { ModelError } from '../../errors.js';
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
      return withUniqueIds(storableReply(redactReply(await model.complete(request, stream ? { ...options, onText: (t) => stream.push(t) } : options), redactor)));
    } catch (err) {
      throw clean(err);
    } finally {
      stream?.end();
    }
  });
}

/**
 * The reply with every string a model chose redacted: its text, the model name, each tool call's
 * id and name, and every key and string of its input. Only values were before: a hostile model's
 * key in a tool call's id, its name or a JSON key of its input was stored and shown whole
 * (history, trace span names, the dashboard), and sent on to an OTLP backend.
 * The input came from JSON and nests a bounded depth (checkingModel runs first), so a plain walk serves.
 */
function redactReply(reply: ModelReply, redactor: Redactor): ModelReply {
  const text = (t: string): string => redactor.text(t);
  const deep = (v: unknown): unknown => {
    if (typeof v === 'string') return text(v);
    if (Array.isArray(v)) return v.map(deep);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [text(k), deep(x)]));
    return v;
  };
  const content = reply.content.map((b) => (b.type === 'text' ? { ...b, text: text(b.text) } : { ...b, id: text(b.id), name: text(b.name), input: deep(b.input) }));
  return { ...reply, model: text(reply.model), content };
}

/**
 * Each call is answered by its id (checkingModel refused duplicates), so two ids made alike on the
 * way to the store would leave one call unanswered: by redaction (two key-shaped secrets, each
 * `[redacted]`), or by the replacement of what Postgres cannot store (`x\ud800` and `x\ud801`
 * both `x\uFFFD`: one write_file was never run, and the next request held two calls and one
 * result, a hostile-model try). Such a reply fails the call, as answered.
 */
function withUniqueIds(reply: ModelReply): ModelReply {
  const ids = reply.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
  if (new Set(ids).size !== ids.length) throw new ModelError('the model API sent an invalid reply: tool_use ids must be unique within a reply once secrets are redacted and unstorable characters replaced', { answered: true });
  return reply;
}
