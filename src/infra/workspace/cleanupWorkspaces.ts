import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { agentBranch, agentIdOfBranch, AGENT_BRANCH_PREFIX } from './agentBranch.js';
import { shouldRemove, type AgentOutcome, type CleanupPolicy } from './cleanupPolicy.js';
import { diskUsage } from './diskUsage.js';
import { TEMP_MERGE_PREFIX } from './mergeWorkspace.js';
import { isInside } from './openRepository.js';
import { removeWorkspace } from './removeWorkspace.js';
import { listWorktrees, readBase, type WorkspaceContext } from './workspaceContext.js';
import type { CleanupEntry, CleanupResult } from './workspaceTypes.js';
import type { WorktreeEntry } from './worktreeList.js';

/** How an agent stands, read from its events: ended with an outcome, still `live`, or `unknown` to this store. */
export type AgentEnd = AgentOutcome | 'live' | 'unknown';

export interface CleanupOptions {
  /** Only say what would be removed. */
  readonly dryRun?: boolean;
  /** Also delete branches holding commits no other branch has (that work is then lost). */
  readonly deleteBranches?: boolean;
  /**
   * Also judge what agents this store does not know left, as terminated agents'. Off by default:
   * another store on this repository (an embedded one in one terminal, Postgres in another) may
   * have them running, and a cleanup removed such an agent's worktree while it worked (a new-user try).
   */
  readonly includeUnknown?: boolean;
}

const HEADS = 'refs/heads/';

/**
 * Removes what ended agents left in the repository, as `policy` says (the same `shouldRemove`
 * the runtime applies at an agent's end and start-up applies to orphans): their worktrees, and
 * their `agents/<id>` branches whose commits another branch already holds (merged into their
 * base, or never given a commit of their own). A branch holding commits no other branch has is
 * kept unless `deleteBranches`: it may be the only copy of the work. Live agents are never
 * touched, nor (unless `includeUnknown`) agents this store does not know, as at start-up. Branches
 * are only ever `agents/<id>` with a valid id. Every entry says why; a dry run changes nothing.
 *
 * @example
 * const r = await cleanupWorkspaces(ctx, 'on_completion', endOf, { dryRun: true });
 * // r.entries: [{ kind: 'branch', name: 'agents/a1', action: 'remove', reason: 'merged', detail: 'agent completed; merged into main' }, ...]
 */
export async function cleanupWorkspaces(
  ctx: WorkspaceContext,
  policy: CleanupPolicy,
  endOf: (agentId: string) => Promise<AgentEnd>,
  options: CleanupOptions = {},
): Promise<CleanupResult> {
  const heads = await localBranches(ctx);
  const worktrees = new Map<string, WorktreeEntry>();
  for (const e of await listWorktrees(ctx)) {
    const agentId = agentIdOfBranch(e.branch);
    if (agentId !== undefined && isInside(ctx.repo.basePath, resolve(e.path)) && !basename(e.path).startsWith(TEMP_MERGE_PREFIX)) worktrees.set(agentId, e);
  }
  const ids = new Set([...worktrees.keys()]);
  for (const b of heads.keys()) {
    const id = agentIdOfBranch(b);
    if (id !== undefined) ids.add(id);
  }

  const entries: CleanupEntry[] = [];
  const live: string[] = [];
  /** Branches the policy lets go, if another branch holds their work. */
  const candidates = new Map<string, { agentId: string; head: string; how: string }>();
  for (const agentId of [...ids].sort()) {
    const end = await endOf(agentId);
    if (end === 'live') {
      live.push(agentId);
      continue;
    }
    const outcome: AgentOutcome = end === 'unknown' ? 'terminated' : end;
    const how = end === 'unknown' ? 'is not in this store (counted as terminated: --include-unknown)' : end;
    const branch = agentBranch(agentId);
    const head = heads.get(branch);
    const wt = worktrees.get(agentId);
    const diskBytes = wt && existsSync(wt.path) ? await diskUsage(wt.path) : 0;
    const both = (action: 'keep', reason: CleanupEntry['reason'], detail: string): void => {
      if (wt) entries.push({ agentId, kind: 'worktree', name: wt.path, action, reason, detail, diskBytes });
      if (head) entries.push({ agentId, kind: 'branch', name: branch, action, reason, detail });
    };
    if (end === 'unknown' && !options.includeUnknown) {
      both('keep', 'unknown', 'agent is not in this store: another store using this repository may be running it (--include-unknown removes what it left)');
      continue;
    }
    if (!shouldRemove(policy, outcome)) {
      both('keep', 'policy', `agent ${how}: policy ${policy} keeps it`);
      continue;
    }
    if (wt && (await isDirty(ctx, wt))) {
      both('keep', 'uncommitted', `agent ${how}, but its worktree has uncommitted changes`);
      continue;
    }
    if (wt) entries.push({ agentId, kind: 'worktree', name: wt.path, action: 'remove', reason: 'ended', detail: `agent ${how}`, diskBytes });
    if (head) candidates.set(branch, { agentId, head, how });
  }

  const held = await heldElsewhere(ctx, heads, candidates);
  for (const [branch, { agentId, head, how }] of candidates) {
    const via = held.get(branch);
    if (via !== undefined) {
      const base = await readBase(ctx, agentId);
      const own = base === undefined || !(await isAncestor(ctx, head, base.commit));
      entries.push({ agentId, kind: 'branch', name: branch, action: 'remove', reason: own ? 'merged' : 'no_commits', detail: `agent ${how}; ${own ? `merged into ${via}` : 'no commits of its own'}` });
    } else if (options.deleteBranches) {
      entries.push({ agentId, kind: 'branch', name: branch, action: 'remove', reason: 'unmerged', detail: `agent ${how}; holds commits no other branch has (deleted: --delete-branches)` });
    } else {
      entries.push({ agentId, kind: 'branch', name: branch, action: 'keep', reason: 'unmerged', detail: `agent ${how}; holds commits no other branch has` });
    }
  }
  // Per agent, its worktree before its branch (the order they are removed in).
  entries.sort((a, b) => a.agentId.localeCompare(b.agentId) || (a.kind === b.kind ? 0 : a.kind === 'worktree' ? -1 : 1));

  if (!options.dryRun) {
    for (const agentId of new Set(entries.filter((e) => e.action === 'remove').map((e) => e.agentId))) {
      const deleteBranch = entries.some((e) => e.agentId === agentId && e.kind === 'branch' && e.action === 'remove');
      await removeWorkspace(ctx, agentId, { deleteBranch });
    }
    ctx.log?.info({ policy, removed: entries.filter((e) => e.action === 'remove').map((e) => e.name) }, 'workspaces cleaned up');
  }
  return { policy, dryRun: Boolean(options.dryRun), entries, live };
}

/** Every local branch and its commit (ref names hold no spaces or newlines: git refuses them). */
async function localBranches(ctx: WorkspaceContext): Promise<Map<string, string>> {
  const r = await ctx.git.run(ctx.repo.root, ['for-each-ref', '--format=%(objectname) %(refname)', HEADS]);
  const heads = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const [sha, ref] = line.split(' ');
    if (sha !== undefined && /^[0-9a-f]{40,64}$/.test(sha) && ref?.startsWith(HEADS)) heads.set(ref.slice(HEADS.length), sha);
  }
  return heads;
}

/**
 * For each candidate, a branch that will still be there and holds all its commits. One that
 * only other candidates hold is kept (the topmost; of several at the same commit, the first),
 * so deleting the rest never loses a commit.
 */
async function heldElsewhere(ctx: WorkspaceContext, heads: ReadonlyMap<string, string>, candidates: ReadonlyMap<string, { head: string }>): Promise<Map<string, string>> {
  const holders = new Map<string, string[]>();
  for (const [branch, { head }] of candidates) {
    const r = await ctx.git.run(ctx.repo.root, ['for-each-ref', '--format=%(refname)', '--contains', head, HEADS]);
    // Branches outside agents/ first: "merged into main" says more than naming another agent.
    const names = r.stdout.split('\n').filter((x) => x.startsWith(HEADS)).map((x) => x.slice(HEADS.length)).filter((x) => x !== branch);
    holders.set(branch, [...names.filter((x) => !x.startsWith(AGENT_BRANCH_PREFIX)), ...names.filter((x) => x.startsWith(AGENT_BRANCH_PREFIX))]);
  }
  const staying = new Set([...heads.keys()].filter((b) => !candidates.has(b)));
  const undecided = new Set(candidates.keys());
  const via = new Map<string, string>();
  for (;;) {
    for (const b of undecided) {
      const holder = holders.get(b)!.find((x) => staying.has(x));
      if (holder !== undefined) {
        via.set(b, holder);
        undecided.delete(b);
      }
    }
    if (undecided.size === 0) return via;
    const top = [...undecided].find((b) => !holders.get(b)!.some((x) => undecided.has(x))) ?? [...undecided][0]!;
    undecided.delete(top);
    staying.add(top);
  }
}

async function isAncestor(ctx: WorkspaceContext, commit: string, of: string): Promise<boolean> {
  return (await ctx.git.run(ctx.repo.root, ['merge-base', '--is-ancestor', commit, of], { okCodes: [0, 1, 128] })).code === 0;
}

async function isDirty(ctx: WorkspaceContext, wt: WorktreeEntry): Promise<boolean> {
  if (!existsSync(wt.path)) return false;
  const r = await ctx.git.run(wt.path, ['status', '--porcelain', '-z'], { okCodes: [0, 128] });
  return r.code === 0 && r.stdout !== '';
}
