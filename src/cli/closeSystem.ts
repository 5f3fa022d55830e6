import type { AgentSystem } from '../system.js';
import type { Output } from './output.js';

/**
 * Closes a command's system with Ctrl-C (and SIGTERM) handled while it does: close() lets model
 * calls already sent finish and be recorded, which can take seconds, and Node's default ended
 * the process at once with 130, after a completed run had printed its result (a new-user try).
 * After a command that finished, the first signal says what the close waits for and the second
 * quits at once; after one already interrupted (`interrupted`), the next quits at once, as the
 * interrupted line promises.
 *
 * @example
 * try { await work(system); } finally { await closeSystem(system, ctx.output, false); }
 */
export async function closeSystem(system: Pick<AgentSystem, 'close'>, output: Pick<Output, 'err'>, interrupted: boolean): Promise<void> {
  let signals = interrupted ? 1 : 0;
  const onSignal = (): void => {
    signals++;
    if (signals > 1) process.exit(130);
    output.err('cadre: closing: letting the model calls in flight finish and be recorded (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await system.close();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
