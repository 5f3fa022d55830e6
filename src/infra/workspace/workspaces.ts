import { WorkspaceError } from '../../errors.js';
import type { RemoveOptions } from './removeWorkspace.js';
import type { WorkspaceManager } from './workspaceManager.js';
import type { CleanupResult, RemoveResult, WorkspaceDiff, WorkspaceListing } from './workspaceTypes.js';
import type { AgentEnd, CleanupOptions } from './cleanupWorkspaces.js';
import type { CleanupPolicy } from './cleanupPolicy.js';

/**
 * `system.workspaces`: the agents' git worktrees as an operator sees them. Always present; with
 * no repository every method refuses with a `WorkspaceError` that says why and what to set.
 *
 * @example
 * for (const w of await system.workspaces.list()) console.log(w.agentId, w.branch, w.diskBytes);
 * const d = await system.workspaces.diff(agentId, { maxBytes: 100_000 });
 */
export interface Workspaces {
  /** The repository worktrees are made in, or null when there is none here. */
  readonly repo: string | null;
  /** Every cadre worktree with its branch and disk use. */
  list(): Promise<WorkspaceListing[]>;
  /** What an agent changed on its branch, against the commit it started from. */
  diff(agentId: string, options?: { maxBytes?: number }): Promise<WorkspaceDiff>;
  /** Removes an agent's worktree (and its branch when asked). */
  remove(agentId: string, options?: RemoveOptions): Promise<RemoveResult>;
  /**
   * Removes ended agents' worktrees and merged `agents/<id>` branches as the system's cleanup
   * policy says; every entry of the result says what was (or, with `dryRun`, would be) removed
   * or kept, and why.
   */
  cleanup(options?: CleanupOptions): Promise<CleanupResult>;
}

/** What cleanup needs from the system: its policy, and how an agent ended (from its events). */
export interface WorkspaceCleanupContext {
  readonly policy: CleanupPolicy;
  endOf(agentId: string): Promise<AgentEnd>;
}

const NO_REPOSITORY = 'no git repository here, so there are no worktrees: run inside a git checkout, or set WORKSPACE_REPO (createAgentSystem: workspace.repo)';

/**
 * The operator's view over a repository's worktree manager; `manager` null means there is no
 * repository (or the injected workspace port manages no worktrees).
 */
export function createWorkspaces(repo: string | null, manager: (() => Promise<WorkspaceManager>) | null, cleanup: WorkspaceCleanupContext): Workspaces {
  const open = async (): Promise<WorkspaceManager> => {
    if (!manager) throw new WorkspaceError(repo === null ? NO_REPOSITORY : `the workspace port given to createAgentSystem manages no worktrees of ${repo} to list`);
    return manager();
  };
  return {
    repo: manager ? repo : null,
    list: async () => (await open()).list(),
    diff: async (agentId, options) => (await open()).diff(agentId, options),
    remove: async (agentId, options) => (await open()).remove(agentId, options),
    cleanup: async (options) => (await open()).cleanup(cleanup.policy, (id) => cleanup.endOf(id), options),
  };
}
