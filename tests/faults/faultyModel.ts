import type { ModelProvider } from '../../src/actors/ports/modelProvider.js';
import { ModelError } from '../../src/errors.js';
import { rng } from './faultPlan.js';

export interface FaultyModelOptions {
  readonly seed: number;
  /** Share of calls that throw (a retryable provider error). */
  readonly errorRate: number;
  /** Share of calls that never answer: they end only when the runtime aborts them (timeout, fire, close). */
  readonly hangRate: number;
  /** Told of each fault as it is injected (the harness logs it: only what happened is counted). */
  readonly onInject?: (kind: 'model-error' | 'model-hang') => void;
}

export interface FaultyModel extends ModelProvider {
  readonly injected: { errors: number; hangs: number; hangsEnded: number };
}

/**
 * Wraps a provider so that, by a seeded draw per call, some calls fail and some hang until their
 * abort signal fires. A hang that nobody aborts is a bug in the runtime (a call without a limit).
 */
export function faultyModel(inner: ModelProvider, o: FaultyModelOptions): FaultyModel {
  const random = rng(o.seed);
  const injected = { errors: 0, hangs: 0, hangsEnded: 0 };
  return {
    name: inner.name,
    isLLM: inner.isLLM,
    defaultModel: inner.defaultModel,
    injected,
    estimateInputTokens: (r) => inner.estimateInputTokens(r),
    async complete(request, options) {
      const draw = random();
      if (draw < o.errorRate) {
        injected.errors++;
        o.onInject?.('model-error');
        throw new ModelError('injected fault: provider unavailable', { retryable: true });
      }
      if (draw < o.errorRate + o.hangRate) {
        injected.hangs++;
        o.onInject?.('model-hang');
        return new Promise((_resolve, reject) => {
          const signal = options?.signal;
          const end = (): void => {
            injected.hangsEnded++;
            reject(new ModelError('injected fault: hung call aborted', { retryable: true }));
          };
          if (signal?.aborted) end();
          else signal?.addEventListener('abort', end, { once: true });
        });
      }
      return inner.complete(request, options);
    },
  };
}
