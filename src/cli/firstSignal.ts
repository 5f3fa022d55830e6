/**
 * The first Ctrl-C (or SIGTERM) while it listens; `stop()` ends the listening (idempotent). A
 * command listens from its start, so a signal before its own handling begins (while the store
 * opens, or a workflow is being spawned) is noticed rather than killing the process silently.
 */
export function firstSignal(): { readonly signal: NodeJS.Signals | null; stop(): void } {
  let signal: NodeJS.Signals | null = null;
  // Only the first: a second Ctrl-C quits at once, as it does once the command's own handling
  // has begun (a store open waiting on a lock would otherwise hold it for up to 30 s).
  const on = (s: NodeJS.Signals): void => {
    signal ??= s;
    stop();
  };
  const stop = (): void => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    get signal() {
      return signal;
    },
    stop,
  };
}
