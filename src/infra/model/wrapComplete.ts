import type { ModelProvider } from '../../actors/ports/modelProvider.js';

/**
 * `model` with its `complete` replaced by `complete` (which may call the original); its name,
 * kind, default model and estimate read through, so a wrapper stays in step with what it wraps.
 *
 * @example
 * const logged = wrapComplete(model, async (request, options) => { log(request); return model.complete(request, options); });
 */
export function wrapComplete(model: ModelProvider, complete: ModelProvider['complete']): ModelProvider {
  return {
    get name() {
      return model.name;
    },
    get isLLM() {
      return model.isLLM;
    },
    get defaultModel() {
      return model.defaultModel;
    },
    estimateInputTokens: (request) => model.estimateInputTokens(request),
    complete,
  };
}
