import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoalescingNotifier } from '../../src/infra/sql/coalescingNotifier.js';

/** A send the test completes by hand, recording the keys of each call. */
function controlledSend() {
  const calls: string[][] = [];
  const pending: Array<() => void> = [];
  const send = (keys: ReadonlySet<string>): Promise<void> => {
    calls.push([...keys].sort());
    return new Promise<void>((r) => pending.push(r));
  };
  const finishAll = async (): Promise<void> => {
    for (const r of pending.splice(0)) r();
    await vi.advanceTimersByTimeAsync(0);
  };
  return { send, calls, finishAll };
}

describe('CoalescingNotifier', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());
  const clock = (): number => Date.now();

  it('sends the first poke after a quiet spell at once', () => {
    const s = controlledSend();
    const n = new CoalescingNotifier(s.send, 3, clock);
    n.poke('a');
    expect(s.calls).toEqual([['a']]);
  });

  it('collapses a burst into one trailing send naming every key, no sooner than the interval', async () => {
    const s = controlledSend();
    const n = new CoalescingNotifier(s.send, 10, clock);
    n.poke('a');
    await s.finishAll();
    for (const k of ['b', 'c', 'b']) n.poke(k);
    n.poke();
    expect(s.calls).toHaveLength(1); // within the interval: held back
    await vi.advanceTimersByTimeAsync(9);
    expect(s.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.calls).toEqual([['a'], ['b', 'c']]);
  });

  it('never has two sends on the wire: pokes during one go out after it, together', async () => {
    const s = controlledSend();
    const n = new CoalescingNotifier(s.send, 0, clock);
    n.poke('a');
    n.poke('b');
    n.poke('c');
    expect(s.calls).toEqual([['a']]);
    await s.finishAll();
    expect(s.calls).toEqual([['a'], ['b', 'c']]);
  });

  it('drain sends what is pending without waiting out the interval, and a failed send is not fatal', async () => {
    const calls: string[][] = [];
    let fail = true;
    const n = new CoalescingNotifier(async (keys) => {
      calls.push([...keys]);
      if (fail) throw new Error('connection lost');
    }, 60_000, clock);
    n.poke('a');
    await vi.advanceTimersByTimeAsync(0);
    fail = false;
    n.poke('b');
    await n.drain();
    expect(calls).toEqual([['a'], ['b']]);
    await n.drain(); // nothing pending: nothing sent
    expect(calls).toHaveLength(2);
  });
});
