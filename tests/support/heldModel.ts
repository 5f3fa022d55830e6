import type { ModelProvider } from '../../src/actors/ports/modelProvider.js';
import { Aborted } from '../../src/errors.js';
import { createOfflineProvider } from '../../src/infra/model/offlineProvider.js';

/** A model call that saw its abort signal fire: whose (the agent's role) and when (performance.now()). */
export interface ObservedAbort {
  readonly role: string;
  readonly at: number;
}

export interface HeldModel extends ModelProvider {
  /** Resolves once a call of an agent with `role` is in flight (held here). */
  called(role: string): Promise<void>;
  /** Lets the held calls of `role`, and later ones, answer as the offline model does. */
  release(role: string): void;
  /** The held calls whose request signal fired, in order. */
  readonly aborts: readonly ObservedAbort[];
  /** The role of every call made, in order. */
  readonly calls: readonly string[];
}

/**
 * The offline model, except that calls of agents whose role is in `held` wait (a slow model)
 * until `release(role)` or until their request's signal is aborted, which they record and answer
 * with `Aborted` as a real SDK call does: what the cancellation tests need to see that aborting
 * a run reaches the model call in flight.
 *
 * @example
 * const model = heldModel(['grandchild']);
 * const running = root.run({ signal: controller.signal });
 * await model.called('grandchild');
 * controller.abort(); // model.aborts now names 'grandchild'
 */
export function heldModel(held: readonly string[]): HeldModel {
  const offline = createOfflineProvider({ latencyMs: 0 });
  const holding = new Set(held);
  const releases = new Map<string, Array<() => void>>();
  const arrivals = new Map<string, Array<() => void>>();
  const aborts: ObservedAbort[] = [];
  const calls: string[] = [];
  const wake = (waiters: Map<string, Array<() => void>>, role: string): void => {
    for (const w of waiters.get(role) ?? []) w();
    waiters.delete(role);
  };
  const waitOn = (waiters: Map<string, Array<() => void>>, role: string): Promise<void> =>
    new Promise((resolve) => waiters.set(role, [...(waiters.get(role) ?? []), resolve]));
  return {
    ...offline,
    aborts,
    calls,
    async complete(request, options = {}) {
      const role = request.agent?.role ?? '';
      calls.push(role);
      if (holding.has(role)) {
        const { signal } = options;
        const released = waitOn(releases, role);
        wake(arrivals, role);
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => {
            aborts.push({ role, at: performance.now() });
            reject(new Aborted('model call aborted'));
          };
          if (signal?.aborted) return onAbort();
          signal?.addEventListener('abort', onAbort, { once: true });
          void released.then(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          });
        });
      }
      return offline.complete(request, options);
    },
    called(role) {
      return calls.includes(role) ? Promise.resolve() : waitOn(arrivals, role);
    },
    release(role) {
      holding.delete(role);
      wake(releases, role);
    },
  };
}
