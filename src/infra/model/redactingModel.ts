import type { ModelProvider } from '../../actors/ports/modelProvider.js';
import type { Redactor } from '../redact.js';
import { redactedTextStream } from './redactedTextStream.js';
import { wrapComplete } from './wrapComplete.js';

/**
 * A provider whose errors carry no secret: an API or a proxy that echoes the key
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
      return await model.complete(request, stream ? { ...options, onText: (t) => stream.push(t) } : options);
    } catch (err) {
      throw clean(err);
    } finally {
      stream?.end();
    }
  });
}
