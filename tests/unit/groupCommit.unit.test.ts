import { describe, expect, it } from 'vitest';
import { GroupCommit, type Outcome } from '../../src/events/stores/postgres/groupCommit.js';

/** A flush whose completion the test controls, recording the batches it was given. */
function controlledFlush() {
  const batches: number[][] = [];
  const release: Array<() => void> = [];
  const flush = (items: readonly number[]): Promise<Outcome<number>[]> => {
    batches.push([...items]);
    return new Promise((resolve) => release.push(() => resolve(items.map((n) => (n < 0 ? { ok: false, error: new Error(`refused ${n}`) } : { ok: true, value: n * 10 })))));
  };
  return { batches, release, flush };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('GroupCommit', () => {
  it('flushes a lone item at once and gives each caller its own outcome', async () => {
    const f = controlledFlush();
    const gc = new GroupCommit(f.flush, { maxBatch: 10, maxInFlight: 1 });
    const one = gc.submit(1);
    expect(f.batches).toEqual([[1]]);
    const queued = [gc.submit(2), gc.submit(-3), gc.submit(4)];
    expect(f.batches).toHaveLength(1); // waiting for the one in flight
    f.release.shift()!();
    await expect(one).resolves.toBe(10);
    await tick();
    expect(f.batches).toEqual([[1], [2, -3, 4]]);
    f.release.shift()!();
    const settled = await Promise.allSettled(queued);
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual([20, 'refused -3', 40]);
  });

  it('keeps at most maxInFlight flushes running and at most maxBatch items in one', async () => {
    const f = controlledFlush();
    const gc = new GroupCommit(f.flush, { maxBatch: 3, maxInFlight: 2 });
    const all = Array.from({ length: 9 }, (_, i) => gc.submit(i));
    expect(f.batches).toEqual([[0], [1]]);
    while (f.release.length > 0) {
      f.release.shift()!();
      await tick();
    }
    await expect(Promise.all(all)).resolves.toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80]);
    expect(f.batches.every((b) => b.length <= 3)).toBe(true);
    expect(f.batches.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('stops a batch at maxWeight, and a heavy item goes alone', async () => {
    const f = controlledFlush();
    const gc = new GroupCommit(f.flush, { maxBatch: 10, maxInFlight: 1, weigh: (n: number) => n, maxWeight: 10 });
    const all = [0, 4, 5, 3, 20, 1].map((n) => gc.submit(n));
    while (f.release.length > 0) {
      f.release.shift()!();
      await tick();
    }
    await Promise.all(all);
    expect(f.batches).toEqual([[0], [4, 5], [3], [20], [1]]);
  });

  it('a flush that fails as a whole rejects every item in it, and the next batch still runs', async () => {
    let calls = 0;
    const gc = new GroupCommit<number, number>(async (items) => {
      calls++;
      if (calls === 1) throw new Error('connection lost');
      return items.map((n) => ({ ok: true, value: n }));
    }, { maxBatch: 10, maxInFlight: 1 });
    const failed = gc.submit(1);
    const later = gc.submit(2);
    await expect(failed).rejects.toThrow('connection lost');
    await expect(later).resolves.toBe(2);
  });
});
