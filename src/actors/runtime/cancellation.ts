import { Aborted, InvalidInput } from '../../errors.js';
import { abortReason } from '../../infra/model/abortableSleep.js';
import { track, type RuntimeContext } from './runtimeContext.js';
import { terminateSubtree } from './terminations.js';

/** The reason an agent ended by its run's signal records (in `AgentTerminated` and its `RunResult`). */
export const CANCELLED = 'cancelled';

/**
 * Runs `work` (a run of `id` to its end) with `signal` wired to the agent: aborted, it terminates
 * `id` and its subtree (in-flight model calls aborted, unspent budget returned up), and `work`
 * then sees the recorded end. An already-aborted signal terminates before `work` starts, so
 * nothing of the agent runs; one aborted after the end finds it ended and changes nothing.
 *
 * A termination that fails (the store gone, say) fails the run with its error rather than
 * leaving the caller waiting for an end that will never be recorded.
 */
export async function cancellable<T>(rt: RuntimeContext, id: string, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  if (signal.aborted) await cancel(rt, id);
  let onAbort = (): void => {};
  const failed = new Promise<never>((_, reject) => {
    onAbort = () => void cancel(rt, id).catch(reject);
  });
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([work(), failed]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Terminates `id`'s subtree as cancelled; close() waits for a cancellation under way. */
function cancel(rt: RuntimeContext, id: string): Promise<void> {
  return track(rt, terminateSubtree(rt, id, CANCELLED, null));
}

/**
 * `waiting`, or `Aborted` as soon as `signal` fires: only the wait stops, whatever `waiting`
 * waits for goes on (the `fetch` convention, for `result({ signal })`).
 */
export function untilAborted<T>(waiting: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return waiting;
  // Left behind when the signal wins: it settles later (or fails at close) with nobody to hear it.
  waiting.catch(() => {});
  if (signal.aborted) return Promise.reject(stoppedWaiting(signal));
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(stoppedWaiting(signal));
  });
  signal.addEventListener('abort', onAbort, { once: true });
  return Promise.race([waiting, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** What `result({ signal })` rejects with once its signal fires. */
export const stoppedWaiting = (signal: AbortSignal): Aborted => new Aborted(abortReason(signal) ?? 'stopped waiting for the result (the agent goes on)');

/** The `signal` of a public call's options: absent, or an `AbortSignal` (refused otherwise, naming it). */
export function signalOption(options: unknown): AbortSignal | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== 'object') throw new InvalidInput('options', 'must be an object like { signal }');
  const { signal } = options as { signal?: unknown };
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw new InvalidInput('signal', 'must be an AbortSignal (from an AbortController, or AbortSignal.timeout())');
  return signal;
}
