import { Aborted } from '../../errors.js';

/**
 * Waits `ms` milliseconds, or rejects with `Aborted` as soon as `signal` fires, so that a
 * cancelled agent never sits out a rate-limit wait or a simulated latency.
 *
 * @example
 * await abortableSleep(250, controller.signal);
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new Aborted(abortReason(signal)));
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new Aborted(abortReason(signal)));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The abort's reason as text, when the caller gave one. */
export function abortReason(signal: AbortSignal | undefined): string | undefined {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : undefined;
}
