/**
 * In-process mutual exclusion for async code: one queue per key (a recipient, a repository's
 * path), or a single one. Each section starts once every earlier section on its key has
 * settled, whether it returned or threw.
 */

/**
 * A promise queue per key. Entries are dropped when their queue drains, so keys for thousands
 * of short-lived agents or recipients do not accumulate.
 *
 * @example
 * const locks = new KeyedMutex();
 * await locks.run('/repo', () => git.run('/repo', ['worktree', 'prune']));
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a holder or waiters right now (for tests and diagnostics). */
  activeKeys(): string[] {
    return [...this.tails.keys()];
  }
}

/**
 * Serialises async critical sections (a KeyedMutex with one key).
 *
 * @example
 * const lock = new Mutex();
 * await lock.run(async () => { await readCheckpoints(); await applyBatch(); });
 */
export class Mutex {
  private readonly keyed = new KeyedMutex();

  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.keyed.run('', fn);
  }
}
