/** Git worktrees per agent (DESIGN.md "Workspaces"): the manager, policies, confined file access. */
export { createWorkspaceManager, type WorkspaceManager, type WorkspaceManagerOptions } from './workspaceManager.js';
export { CleanupPolicySchema, shouldRemove, type AgentOutcome, type CleanupPolicy } from './cleanupPolicy.js';
export { createWorkspaceFiles, type FileContent, type FileEntry, type SearchMatch, type SearchOptions, type WorkspaceFiles } from './workspaceFiles.js';
export type { MergeTarget } from './mergeWorkspace.js';
export type { LiveAgent, ReconcileOptions } from './reconcileWorkspaces.js';
export type { AgentEnd, CleanupOptions } from './cleanupWorkspaces.js';
export type { RemoveOptions } from './removeWorkspace.js';
export type {
  CleanupEntry, CleanupResult, CommitResult, DiffFile, MergeResult, ReconcileResult, RemoveResult, WorkspaceDiff, WorkspaceInfo, WorkspaceListing,
} from './workspaceTypes.js';
export { agentBranch, AGENT_BRANCH_PREFIX } from './agentBranch.js';
export { createGitRunner, CADRE_AUTHOR, type GitRunner } from './gitRunner.js';
