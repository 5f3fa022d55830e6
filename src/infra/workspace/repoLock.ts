import { KeyedMutex } from '../mutex.js';

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
 * Locks per key over one KeyedMutex (src/infra/mutex.ts).
 *
 * @example
 * const locks = createKeyedLocks();
 * await locks.withLock('/repo', () => git.run('/repo', ['worktree', 'prune']));
 */
export function createKeyedLocks(): KeyedLocks {
  const mutex = new KeyedMutex();
  return { withLock: (key, fn) => mutex.run(key, fn), activeKeys: () => mutex.activeKeys() };
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
