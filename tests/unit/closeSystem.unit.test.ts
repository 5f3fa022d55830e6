import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeSystem } from '../../src/cli/closeSystem.js';

/** A system whose close() waits until the test lets it finish (model calls being recorded). */
function slowClose(): { system: { close(): Promise<void> }; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  return { system: { close: () => done }, finish };
}

describe('closing a command’s system under Ctrl-C', () => {
  afterEach(() => vi.restoreAllMocks());

  it('after a finished command: the first Ctrl-C says what it waits for, the second quits (130); a completed run exited 130 at once', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const lines: string[] = [];
    const { system, finish } = slowClose();
    const listening = process.listenerCount('SIGINT');
    const closing = closeSystem(system, { err: (t) => void lines.push(t) }, false);
    process.emit('SIGINT', 'SIGINT');
    expect(exit).not.toHaveBeenCalled();
    expect(lines).toEqual([expect.stringMatching(/^cadre: closing: .*Ctrl-C again to quit now/)]);
    process.emit('SIGINT', 'SIGINT');
    expect(exit).toHaveBeenCalledWith(130);
    finish();
    await closing;
    expect(process.listenerCount('SIGINT')).toBe(listening); // its handlers go with it
  });

  it('after an interrupted command: the next Ctrl-C quits at once, as its line promised', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const { system, finish } = slowClose();
    const closing = closeSystem(system, { err: () => {} }, true);
    process.emit('SIGTERM', 'SIGTERM');
    expect(exit).toHaveBeenCalledWith(130);
    finish();
    await closing;
  });
});
