import type { ModelProvider, ModelReply, ModelRequest } from '../../actors/ports/modelProvider.js';
import { Aborted, ModelError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { abortReason } from './abortableSleep.js';
import { estimateInputTokens } from './estimateInputTokens.js';
import { ModelReplySchema } from './modelReplySchema.js';

/** Either a fixed list of replies, used in order, or a function of the request and call index. */
export type ModelScript = readonly ModelReply[] | ((request: ModelRequest, callIndex: number) => ModelReply | Promise<ModelReply>);

/** A provider for tests that also shows what it was asked. */
export interface ScriptedProvider extends ModelProvider {
  /** Every request received, in order (also those whose reply failed). */
  readonly requests: readonly ModelRequest[];
}

/**
 * A model for tests: answers from a script and records each request. It is not a language
 * model (`isLLM` is false). A list that runs out, or a reply that does not parse as a
 * `ModelReply`, fails the call with a non-retryable `ModelError`, so a test that makes one
 * call too many fails loudly instead of hanging.
 *
 * @example
 * const model = createScriptedProvider([
 *   { model: 'scripted', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn',
 *     usage: { inputTokens: 10, outputTokens: 2, cacheReadTokens: 0, cacheCreationTokens: 0 } },
 * ]);
 * await model.complete(request);
 * expect(model.requests).toHaveLength(1);
 */
export function createScriptedProvider(script: ModelScript): ScriptedProvider {
  const requests: ModelRequest[] = [];

  const next = async (request: ModelRequest, index: number): Promise<unknown> => {
    if (typeof script === 'function') return script(request, index);
    const reply = script[index];
    if (reply === undefined) throw new ModelError(`scripted provider has no reply for call #${index + 1} (script has ${script.length})`);
    return reply;
  };

  return {
    name: 'scripted',
    isLLM: false,
    defaultModel: 'scripted',
    requests,
    async complete(request, options = {}) {
      const index = requests.length;
      requests.push(request);
      if (options.signal?.aborted) throw new Aborted(abortReason(options.signal));
      const raw = await next(request, index);
      if (options.signal?.aborted) throw new Aborted(abortReason(options.signal));
      let reply: ModelReply;
      try {
        reply = parseInput(ModelReplySchema, raw, `script[${index}]`);
      } catch (error) {
        throw new ModelError(`scripted reply #${index + 1} is not a valid ModelReply: ${(error as Error).message}`, { cause: error });
      }
      // As a streaming model would: its text, word by word, before the reply.
      if (options.onText) for (const b of reply.content) if (b.type === 'text') for (const piece of b.text.split(/(?<=\s)/)) options.onText(piece);
      return reply;
    },
    estimateInputTokens: (request) => estimateInputTokens(request),
  };
}
