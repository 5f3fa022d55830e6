import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseInput } from '../../validation.js';
import { agentIdOfBranch, parseAgentId, parseBaseRef } from './agentBranch.js';
import { CleanupPolicySchema, type CleanupPolicy } from './cleanupPolicy.js';
import { cleanupWorkspaces, type AgentEnd, type CleanupOptions } from './cleanupWorkspaces.js';
import { commitWorkspace } from './commitWorkspace.js';
import { createWorkspace } from './createWorkspace.js';
import { diffWorkspace } from './diffWorkspace.js';
import { diskUsage } from './diskUsage.js';
import { createGitRunner, type GitRunner } from './gitRunner.js';
import { mergeWorkspace, TEMP_MERGE_PREFIX, type MergeTarget } from './mergeWorkspace.js';
import { isInside, openRepository } from './openRepository.js';
import { pinnedToWorktrees } from './pinnedToWorktrees.js';
import { reconcileWorkspaces, type LiveAgent, type ReconcileOptions } from './reconcileWorkspaces.js';
import { removeWorkspace, type RemoveOptions } from './removeWorkspace.js';
import { repoLocks, type KeyedLocks } from './repoLock.js';
import { listWorktrees, withWorktreeLock, type WorkspaceContext } from './workspaceContext.js';
import type {
  CleanupResult, CommitResult, MergeResult, ReconcileResult, RemoveResult, WorkspaceDiff, WorkspaceInfo, WorkspaceListing,
} from './workspaceTypes.js';

export interface WorkspaceManagerOptions {
  /** A path inside the git repository agents work on. */
  readonly repo: string;
  /** Folder for the worktrees; default `<repo>/../.cadre-worktrees/<repo-name>`. Must be outside the work tree. */
  readonly basePath?: string;
  readonly logger?: Logger;
  /** Run the repository's git hooks on agents' commits and checkouts (default false). */
  readonly hooks?: boolean;
  /** Tests and tools may bring their own git runner or locks; by default they are shared per process. */
  readonly git?: GitRunner;
  readonly locks?: KeyedLocks;
}

/**
 * Git worktrees for agents: one per agent on `agents/<id>`. Returns plain data for the
 * events; records nothing. Every method is async and reports bad input as a rejected
 * InvalidInput, git trouble as WorkspaceError.
 */
export interface WorkspaceManager {
  readonly repoRoot: string;
  /** The git folder every worktree of the repository shares. */
  readonly commonDir: string;
  readonly basePath: string;
  create(agentId: string, options?: { baseBranch?: string }): Promise<WorkspaceInfo>;
  commit(agentId: string, message: string): Promise<CommitResult | null>;
  merge(childAgentId: string, into: MergeTarget): Promise<MergeResult>;
  diff(agentId: string, options?: { maxBytes?: number }): Promise<WorkspaceDiff>;
  remove(agentId: string, options?: RemoveOptions): Promise<RemoveResult>;
  list(): Promise<WorkspaceListing[]>;
  reconcile(live: ReadonlyMap<string, LiveAgent>, policy: CleanupPolicy, options?: ReconcileOptions): Promise<ReconcileResult>;
  /** Removes ended agents' worktrees and merged branches as `policy` says; `endOf` reads how each agent stands. */
  cleanup(policy: CleanupPolicy, endOf: (agentId: string) => Promise<AgentEnd>, options?: CleanupOptions): Promise<CleanupResult>;
  /** The folder of an agent's worktree, whether or not it exists yet. */
  pathOf(agentId: string): string;
  /**
   * Runs `fn` holding the worktree at `path` as its commits and merges do: an agent's command
   * runs so, and no merge changes the files under it between its argument check and its end.
   */
  holdingWorktree<T>(path: string, fn: () => Promise<T>): Promise<T>;
  /** Whether `commit` (a full object name) is a commit in this repository. */
  hasCommit(commit: string): Promise<boolean>;
  /** Whether its checkout has a commit to branch worktrees from (a fresh `git init` has none). */
  hasHead(): Promise<boolean>;
}

const MergeTargetSchema = z.union([z.string(), z.object({ branch: z.string() }).strict()]);
const MessageSchema = z.string().max(64 * 1024);
const OptionsSchema = z.object({ repo: z.string().min(1), basePath: z.string().min(1).optional() }).loose();

/**
 * Opens the workspace manager of one repository. Fails with a WorkspaceError when `repo`
 * is not the top folder of a non-bare git repository or `basePath` is inside its work tree.
 *
 * @example
 * const ws = await createWorkspaceManager({ repo: process.cwd(), logger });
 * const root = await ws.create('root');                                  // on the current branch
 * const child = await ws.create('c1', { baseBranch: root.branch });       // on the parent's branch
 * // ... the agent writes files in child.path ...
 * const c = await ws.commit('c1', 'c1: done');                           // → WorkspaceCommitted
 * const m = await ws.merge('c1', 'root');                                // merged | conflict | up_to_date
 * await ws.remove('c1', { deleteBranch: m.status === 'merged' });
 */
export async function createWorkspaceManager(options: WorkspaceManagerOptions): Promise<WorkspaceManager> {
  parseInput(OptionsSchema, options, 'workspace');
  const git = options.git ?? createGitRunner(options.hooks === undefined ? {} : { hooks: options.hooks });
  const repo = await openRepository(git, options.repo, options.basePath);
  const ctx: WorkspaceContext = {
    repo,
    git: pinnedToWorktrees(git, repo),
    locks: options.locks ?? repoLocks,
    log: options.logger?.child({ component: 'workspaces', repo: repo.root }),
  };

  return {
    repoRoot: repo.root,
    commonDir: repo.commonDir,
    basePath: repo.basePath,
    pathOf: (agentId) => resolve(repo.basePath, parseAgentId(agentId)),
    holdingWorktree: (path, fn) => withWorktreeLock(ctx, resolve(path), fn),
    async hasHead() {
      return (await git.run(repo.root, ['rev-parse', '--verify', '--quiet', 'HEAD'], { okCodes: [0, 1, 128] })).code === 0;
    },
    async hasCommit(commit) {
      if (!/^[0-9a-f]{40,64}$/.test(commit)) return false;
      return (await git.run(repo.root, ['cat-file', '-e', `${commit}^{commit}`], { okCodes: [0, 1, 128] })).code === 0;
    },
    async create(agentId, opts = {}) {
      const id = parseAgentId(agentId);
      return createWorkspace(ctx, id, opts.baseBranch === undefined ? {} : { baseBranch: parseBaseRef(opts.baseBranch) });
    },
    async commit(agentId, message) {
      return commitWorkspace(ctx, parseAgentId(agentId), parseInput(MessageSchema, message, 'message'));
    },
    async merge(childAgentId, into) {
      const target = parseInput(MergeTargetSchema, into, 'into');
      const parsed = typeof target === 'string' ? parseAgentId(target, 'into') : { branch: parseBaseRef(target.branch, 'into.branch') };
      return mergeWorkspace(ctx, parseAgentId(childAgentId, 'childAgentId'), parsed);
    },
    async diff(agentId, opts = {}) {
      return diffWorkspace(ctx, parseAgentId(agentId), opts);
    },
    async remove(agentId, opts = {}) {
      return removeWorkspace(ctx, parseAgentId(agentId), opts);
    },
    async list() {
      const entries = (await listWorktrees(ctx)).filter((e) => isInside(repo.basePath, resolve(e.path)));
      const managed = entries.flatMap((e) => {
        const agentId = agentIdOfBranch(e.branch);
        // A temporary merge worktree can sit on an agent branch for a moment: not the agent's.
        return agentId === undefined || basename(e.path).startsWith(TEMP_MERGE_PREFIX) ? [] : [{ entry: e, agentId }];
      });
      return Promise.all(
        managed.map(async ({ entry, agentId }) => {
          const exists = existsSync(entry.path);
          return {
            agentId,
            path: entry.path,
            branch: entry.branch!.slice('refs/heads/'.length),
            head: entry.head,
            diskBytes: exists ? await diskUsage(entry.path) : 0,
            exists,
          };
        }),
      );
    },
    async reconcile(live, policy, opts = {}) {
      for (const id of live.keys()) parseAgentId(id, 'liveAgents');
      return reconcileWorkspaces(ctx, live, parseInput(CleanupPolicySchema, policy, 'policy'), opts);
    },
    async cleanup(policy, endOf, opts = {}) {
      return cleanupWorkspaces(ctx, parseInput(CleanupPolicySchema, policy, 'policy'), endOf, opts);
    },
  };
}
