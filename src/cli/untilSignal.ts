/**
 * `work`'s result, or the signal (Ctrl-C's SIGINT, or SIGTERM) that came first: the caller says
 * what was left and exits as interrupted, instead of Node's default of dying at once, silent. The
 * handlers are removed either way, so a second Ctrl-C after that quits at once.
 *
 * @example
 * const result = await untilSignal(wf.run());
 * if (typeof result === 'string') throw new Interrupted(result);
 */
export async function untilSignal<T>(work: Promise<T>): Promise<T | NodeJS.Signals> {
  let onSignal!: (signal: NodeJS.Signals) => void;
  const interrupted = new Promise<NodeJS.Signals>((resolve) => (onSignal = resolve));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await Promise.race([work, interrupted]);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
