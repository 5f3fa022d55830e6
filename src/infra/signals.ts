/**
 * Waiting for "something changed" without losing a wake-up: the signals cadre's loops share
 * (the event store's tail, messaging's inboxes, the projection runner). Mutexes are in mutex.ts.
 *
 * The version counter closes the race between "looked and found nothing" and "started waiting":
 * a waiter passes the version it read before looking and returns at once if a fire it cares
 * about came since.
 */

/**
 * Wakes waiters per key (a recipient id), or all of them at once.
 *
 * @example
 * const arrivals = new KeyedSignal();
 * const seen = arrivals.current;
 * if (nothingFor(recipient)) await arrivals.wait(recipient, seen, 1000);
 * // elsewhere: arrivals.fire(recipient);
 */
export class KeyedSignal {
  private version = 0;
  private allFiredAt = -1;
  private readonly firedAt = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();

  get current(): number {
    return this.version;
  }

  fire(key: string): void {
    this.version++;
    this.firedAt.set(key, this.version);
    const ws = this.waiters.get(key);
    if (!ws) return;
    this.waiters.delete(key);
    for (const w of ws) w();
  }

  fireAll(): void {
    this.version++;
    this.allFiredAt = this.version;
    this.firedAt.clear();
    const all = [...this.waiters.values()];
    this.waiters.clear();
    for (const ws of all) for (const w of ws) w();
  }

  /** Resolves on a fire of `key` (or of all) after `seen`, or after `timeoutMs`. */
  wait(key: string, seen: number, timeoutMs: number): Promise<void> {
    if (this.allFiredAt > seen || (this.firedAt.get(key) ?? -1) > seen) return Promise.resolve();
    if (timeoutMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const set = this.waiters.get(key);
        set?.delete(done);
        if (set && set.size === 0) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      set.add(done);
    });
  }

  /** Forgets fire history nobody can still be waiting on (bounded memory). */
  prune(): void {
    for (const key of this.firedAt.keys()) if (!this.waiters.has(key)) this.firedAt.delete(key);
  }
}

const ONE = '';

/**
 * A KeyedSignal with a single key: wakes everyone waiting (something may have been appended,
 * the set of live projections changed, the runner is stopping).
 *
 * @example
 * const wake = new Signal();
 * const seen = wake.version;
 * const got = await read();
 * if (got.length === 0) await wake.wait(pollMs, seen); // a fire() since `seen` returns at once
 */
export class Signal {
  private readonly keyed = new KeyedSignal();

  /** Counts fires; pass it to `wait` to catch a fire that came before the wait began. */
  get version(): number {
    return this.keyed.current;
  }

  fire(): void {
    this.keyed.fireAll();
  }

  /** Resolves on a fire after `seen` (default: from now on), or after `timeoutMs`. */
  wait(timeoutMs: number, seen: number = this.version): Promise<void> {
    return this.keyed.wait(ONE, seen, timeoutMs);
  }
}
