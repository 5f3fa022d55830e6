import { describe, expect, it } from 'vitest';
import { Aborted } from '../../src/errors.js';
import { createRateLimiter } from '../../src/infra/model/rateLimiter.js';

/** A simulated clock: `sleep` advances time instead of waiting, and records each wait. */
function fakeClock() {
  const clock = {
    now: 0,
    sleeps: [] as number[],
    read: () => clock.now,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw new Aborted();
      clock.sleeps.push(ms);
      clock.now += ms;
    },
  };
  return clock;
}

describe('rate limiter', () => {
  it('lets a minute of requests through at once, then paces them', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requestsPerMinute: 3, now: clock.read, sleep: clock.sleep });
    for (let i = 0; i < 3; i++) await limiter.acquire(0);
    expect(clock.now).toBe(0);
    await limiter.acquire(0);
    expect(clock.now).toBe(20_000); // one request refills every 60 000 / 3 ms
    await limiter.acquire(0);
    expect(clock.now).toBe(40_000);
  });

  it('paces by tokens per minute and caps a request larger than the bucket', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ tokensPerMinute: 6000, now: clock.read, sleep: clock.sleep });
    await limiter.acquire(6000);
    await limiter.acquire(3000);
    expect(clock.now).toBe(30_000);
    // 20 000 tokens never fit a 6 000 bucket: it waits for a full bucket, then goes into debt.
    await limiter.acquire(20_000);
    expect(clock.now).toBe(90_000);
    await limiter.acquire(1);
    expect(clock.now).toBe(90_000 + 140_010);
  });

  it('settles with the real usage: an overestimate comes back, output is charged', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ tokensPerMinute: 1000, now: clock.read, sleep: clock.sleep });
    await limiter.acquire(1000);
    limiter.settle(-600);
    await limiter.acquire(600);
    expect(clock.now).toBe(0);
    limiter.settle(300);
    await limiter.acquire(60);
    expect(clock.now).toBe(21_600);
  });

  it('never refills above capacity', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requestsPerMinute: 2, now: clock.read, sleep: clock.sleep });
    clock.now = 10 * 60_000;
    limiter.settle(-100); // no token bucket: ignored
    await limiter.acquire(0);
    await limiter.acquire(0);
    await limiter.acquire(0);
    expect(clock.now).toBe(10 * 60_000 + 30_000);
  });

  it('serves concurrent callers in arrival order', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ requestsPerMinute: 1, now: clock.read, sleep: clock.sleep });
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => limiter.acquire(0).then(() => order.push(i))));
    expect(order).toEqual([1, 2, 3]);
    expect(clock.now).toBe(120_000);
  });

  it('is a no-op without limits', async () => {
    const clock = fakeClock();
    const limiter = createRateLimiter({ now: clock.read, sleep: clock.sleep });
    for (let i = 0; i < 1000; i++) await limiter.acquire(1_000_000);
    expect(clock.sleeps).toEqual([]);
  });

  it('rejects with Aborted while waiting, and later callers still get through', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 1 });
    await limiter.acquire(0);
    const controller = new AbortController();
    const waiting = limiter.acquire(0, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(Aborted);
    const aborted = new AbortController();
    aborted.abort();
    await expect(limiter.acquire(0, aborted.signal)).rejects.toBeInstanceOf(Aborted);
  });
});
