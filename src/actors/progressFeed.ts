import type { ModelTextProgress, ProgressHub } from './runtime/progressHub.js';

/**
 * An agent's model text as it arrives, from now on, as an async iterable: each piece once, in
 * order. It ends when `ended` settles (the agent ended, or the system closed) or `signal` aborts.
 * Transient: what arrived before the loop started is not replayed (the stored replies are, in
 * `events()`), and only calls made by this process are seen.
 */
export async function* progressFeed(hub: ProgressHub, agentId: string, ended: Promise<unknown>, signal?: AbortSignal): AsyncGenerator<ModelTextProgress, void, undefined> {
  const queue: ModelTextProgress[] = [];
  let wake: (() => void) | null = null;
  let done = signal?.aborted ?? false;
  const stop = (): void => {
    done = true;
    wake?.();
  };
  const unwatch = hub.watch(agentId, (p) => {
    queue.push(p);
    wake?.();
  });
  void ended.then(stop, stop);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (done) return;
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
  } finally {
    unwatch();
    signal?.removeEventListener('abort', stop);
  }
}
