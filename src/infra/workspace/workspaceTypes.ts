import type { CleanupPolicy } from './cleanupPolicy.js';

/** Plain data the workspace manager returns; the runtime records it in events as is. */

/** Result of `create`: what `WorkspaceCreated` records. */
export interface WorkspaceInfo {
  readonly agentId: string;
  readonly path: string;
  readonly branch: string;
  /** The branch (or commit-ish) the agent's branch was started from. */
  readonly baseBranch: string;
  /** The commit the agent's branch was started from; diffs are taken against it. */
  readonly baseCommit: string;
  /** `created` fresh, found `existing` and healthy, or `recreated` from a surviving branch. */
  readonly status: 'created' | 'existing' | 'recreated';
}

/** Result of `commit` (null when there was nothing to commit): what `WorkspaceCommitted` records. */
export interface CommitResult {
  readonly commit: string;
  readonly files: readonly string[];
}

/** Result of `merge`. A conflict is an outcome: the target is left exactly as it was. */
export type MergeResult =
  | { readonly status: 'merged'; readonly commit: string; readonly files: readonly string[] }
  | { readonly status: 'conflict'; readonly files: readonly string[] }
  | { readonly status: 'up_to_date' };

export interface DiffFile {
  readonly path: string;
  readonly status: 'added' | 'modified' | 'deleted' | 'type_changed' | 'other';
  /** Lines added; null for binary files. */
  readonly additions: number | null;
  readonly deletions: number | null;
}

/** Result of `diff`: the agent branch against its base commit. */
export interface WorkspaceDiff {
  readonly agentId: string;
  readonly branch: string;
  readonly baseCommit: string;
  readonly head: string;
  /** Unified diff text, cut at `maxBytes` (then `truncated` is true). */
  readonly patch: string;
  readonly truncated: boolean;
  readonly files: readonly DiffFile[];
  readonly stat: { readonly files: number; readonly additions: number; readonly deletions: number };
}

export interface RemoveResult {
  /** A worktree (or the leftovers of one) was there and is gone now. */
  readonly removed: boolean;
  readonly branchDeleted: boolean;
  /** Left in place by `keepUnsaved`: it holds files its HEAD does not. */
  readonly kept?: boolean;
}

/** One cadre worktree as `list` reports it. */
export interface WorkspaceListing {
  readonly agentId: string;
  readonly path: string;
  readonly branch: string;
  readonly head: string | undefined;
  /** Bytes allocated on disk under the worktree (like `du`), 0 when it is missing. */
  readonly diskBytes: number;
  /** Its directory is on disk (false: deleted behind git's back; `reconcile` repairs it). */
  readonly exists: boolean;
}

export interface ReconcileResult {
  /** Orphans (no live agent) whose worktrees were removed. */
  readonly removed: readonly string[];
  /** Live agents whose missing or broken worktrees were recreated. */
  readonly recreated: readonly string[];
  /** Orphans kept because the policy says so. */
  readonly kept: readonly string[];
}

/** One thing `cleanup` removed (or would remove, in a dry run) or kept, and why. */
export interface CleanupEntry {
  readonly agentId: string;
  readonly kind: 'worktree' | 'branch';
  /** The worktree's folder or the branch's name. */
  readonly name: string;
  readonly action: 'remove' | 'keep';
  /**
   * `ended`: the agent ended and the policy lets its worktree go; `merged`: another branch holds
   * every commit of the branch; `no_commits`: the branch has none of its own; `unmerged`: it holds
   * commits no other branch has; `policy`: the policy keeps this agent's; `uncommitted`: its
   * worktree has changes nobody committed.
   */
  readonly reason: 'ended' | 'merged' | 'no_commits' | 'unmerged' | 'policy' | 'uncommitted' | 'unknown';
  /** The reason in words, e.g. "merged into main". */
  readonly detail: string;
  /** Worktrees only: bytes on disk. */
  readonly diskBytes?: number;
}

/** Result of `cleanup`. */
export interface CleanupResult {
  readonly policy: CleanupPolicy;
  readonly dryRun: boolean;
  readonly entries: readonly CleanupEntry[];
  /** Agents that have not ended: their worktrees and branches were left alone. */
  readonly live: readonly string[];
}
