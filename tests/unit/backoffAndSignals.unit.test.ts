import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { backoffMs } from '../../src/infra/backoff.js';
import { Mutex } from '../../src/infra/mutex.js';
import { Signal } from '../../src/infra/signals.js';

describe('backoffMs', () => {
  it('doubles from the base: base · 2^attempt', () => {
    expect([0, 1, 2, 3, 4].map((a) => backoffMs(a, { baseMs: 50 }))).toEqual([50, 100, 200, 400, 800]);
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, { baseMs: 1 }))).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  it('never exceeds the cap, and reaches it', () => {
    expect([6, 7, 8, 50].map((a) => backoffMs(a, { baseMs: 100, maxMs: 5000 }))).toEqual([5000, 5000, 5000, 5000]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 100_000 }), (attempt, baseMs, maxMs) => {
        const ms = backoffMs(attempt, { baseMs, maxMs });
        expect(ms).toBeLessThanOrEqual(maxMs);
        expect(ms).toBeGreaterThanOrEqual(Math.min(baseMs, maxMs));
      }),
    );
  });

  it('stays finite without a cap however many attempts a loop counts, and treats a negative attempt as 0', () => {
    expect(Number.isFinite(backoffMs(100_000, { baseMs: 25 }))).toBe(true);
    expect(backoffMs(-3, { baseMs: 25 })).toBe(25);
  });

  it("full jitter picks in [0, pause): the cap still bounds it", () => {
    expect(backoffMs(3, { baseMs: 1, maxMs: 50, jitter: 'full', random: () => 0 })).toBe(0);
    expect(backoffMs(3, { baseMs: 1, maxMs: 50, jitter: 'full', random: () => 0.5 })).toBe(4);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const ms = backoffMs(attempt, { baseMs: 1, maxMs: 50, jitter: 'full', random: () => r });
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThan(50);
        expect(ms).toBeLessThan(Math.min(50, 2 ** attempt));
      }),
    );
  });

  it('additive jitter adds up to that many ms on top of the capped pause', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const pause = Math.min(320, 10 * 2 ** attempt);
        const ms = backoffMs(attempt, { baseMs: 10, maxMs: 320, jitter: 20, random: () => r });
        expect(ms).toBeGreaterThanOrEqual(pause);
        expect(ms).toBeLessThanOrEqual(pause + 20); // float addition may round up to the bound
      }),
    );
  });

  it('uses Math.random by default: jittered pauses vary within their range', () => {
    const picks = Array.from({ length: 200 }, () => backoffMs(5, { baseMs: 10, maxMs: 320, jitter: 'full' }));
    expect(Math.min(...picks)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...picks)).toBeLessThan(320);
    expect(new Set(picks).size).toBeGreaterThan(1);
  });
});

describe('Signal', () => {
  it('a fire after the version a waiter saw is not lost, even if it came before the wait', async () => {
    const s = new Signal();
    const seen = s.version;
    s.fire();
    const t0 = performance.now();
    await s.wait(5000, seen);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('without a version, waits for the next fire (or the timeout)', async () => {
    const s = new Signal();
    s.fire();
    let woke = false;
    const waiting = s.wait(5000).then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 5));
    expect(woke).toBe(false);
    s.fire();
    await waiting;
    expect(woke).toBe(true);
    await s.wait(5); // times out quietly
  });
});

describe('Mutex', () => {
  it('runs sections one at a time, in order, and a failure does not block the next', async () => {
    const m = new Mutex();
    const log: string[] = [];
    const section = (name: string, ms: number, fail = false) => m.run(async () => {
      log.push(`${name}+`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    });
    const results = await Promise.allSettled([section('a', 10), section('b', 1, true), section('c', 1)]);
    expect(log).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
