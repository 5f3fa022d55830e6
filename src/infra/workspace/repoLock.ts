/**
 * In-process mutexes keyed by a string (a repository's real path, a worktree's path).
 * Git refuses rather than waits when another process holds one of its lock files, so the
 * operations that touch a repository's shared state queue here instead of racing.
 */
export interface KeyedLocks {
  /** Runs `fn` once every earlier holder of `key` has finished; never runs two at once per key. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Keys with a holder or waiters right now (for tests and diagnostics). */
  activeKeys(): string[];
}

/**
 * A promise queue per key. Entries are dropped when their queue drains, so keys for
 * thousands of short-lived agents do not accumulate.
 *
 * @example
 * const locks = createKeyedLocks();
 * await locks.withLock('/repo', () => git.run('/repo', ['worktree', 'prune']));
 */
export function createKeyedLocks(): KeyedLocks {
  const tails = new Map<string, Promise<void>>();
  return {
    async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = previous.then(() => mine);
      tails.set(key, tail);
      await previous;
      try {
        return await fn();
      } finally {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
    activeKeys: () => [...tails.keys()],
  };
}

/**
 * The locks every workspace manager in this process shares unless given its own. A
 * repository on disk is one shared thing, so two managers opened on it (the runtime and
 * a CLI command, say) must queue on the same mutex; that is why this one is module-wide.
 *
 * @example
 * await repoLocks.withLock(realRepoPath, () => addWorktree());
 */
export const repoLocks: KeyedLocks = createKeyedLocks();
