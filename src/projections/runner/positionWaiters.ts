import { TimedOut } from '../../errors.js';

interface Waiter {
  readonly position: bigint;
  readonly resolve: () => void;
}

/**
 * Callers waiting for the read models to reach a position (read your writes): each resolves at
 * the first `wake()` after which `reached(position)` holds, or rejects with `TimedOut`.
 *
 * @example
 * const waiters = new PositionWaiters((p) => checkpoint >= p);
 * const done = waiters.waitFor(42n, 10_000);
 * checkpoint = 42n;
 * waiters.wake(); // done resolves
 */
export class PositionWaiters {
  private waiters: Waiter[] = [];

  constructor(private readonly reached: (position: bigint) => boolean) {}

  waitFor(position: bigint, timeoutMs: number): Promise<void> {
    if (this.reached(position)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        position,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new TimedOut(`projections reaching position ${position}`, timeoutMs));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Resolves the waiters whose position is reached now. */
  wake(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (this.reached(w.position)) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }
}
