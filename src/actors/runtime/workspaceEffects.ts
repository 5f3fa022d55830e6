import type { AgentContext } from '../agentContext.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { shouldRemove } from '../cleanupPolicy.js';
import type { LiveActor } from '../liveActor.js';
import { loadActor } from './actorCache.js';
import { execute } from './commandExecutor.js';
import { repositoryMismatch } from './toolHosting.js';
import type { RuntimeContext } from './runtimeContext.js';
import { backoffMs } from '../../infra/backoff.js';
import { WorkspaceError } from '../../errors.js';

/** Tries at making a worktree before its agent fails: ~3.5 s of backoff in all. */
const WORKTREE_ATTEMPTS = 4;

/**
 * An agent's git worktree over its life: made before its first step (branched from its parent's),
 * committed when it ends, merged into its parent's, removed as the cleanup policy says. Each step
 * checks the stream first, so any of them may be tried again.
 */

/** Makes the worktree an agent asked for and records it. */
export async function openWorkspace(rt: RuntimeContext, actor: LiveActor): Promise<void> {
  const c = actor.snapshot.context;
  const parentBranch = c.parentId ? (await loadActor(rt, c.parentId)).snapshot.context.workspace?.branch : undefined;
  const base = c.workspaceRequest?.base ?? parentBranch;
  // Hosts decline such an agent (toolHosting.ts); this is the last word if one did not.
  const why = repositoryMismatch(rt, c.workspaceRequest ?? {});
  if (why) throw new WorkspaceError(`this agent's worktree cannot be made here: ${why} (run it inside ${c.workspaceRequest?.repo ?? 'its repository'}, or where WORKSPACE_REPO names it)`);
  const info = await createWithRetries(rt, c.id, base);
  await execute(rt, actor.id, (s) => (s.context.workspace || isTerminalStatus(statusOf(s.value)) ? [] : [{ type: 'WorkspaceCreated', data: { ...info } }]));
  // Ended (timed out, fired) while git was adding it: no event will ever name this worktree, so it goes now.
  if (!(await loadActor(rt, actor.id)).snapshot.context.workspace) await rt.deps.workspaces!.remove(c.id, { deleteBranch: true });
}

/**
 * Tries to make a worktree a few times before the failure fails the agent: git can be down for
 * a moment (a lock, a remount). At once, a brief outage used up every attempt of a workflow
 * node, retries included, within a second (the fault suite's seed 2).
 */
async function createWithRetries(rt: RuntimeContext, id: string, base: string | undefined) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await rt.deps.workspaces!.create(id, base ? { baseBranch: base } : {});
    } catch (err) {
      if (attempt >= WORKTREE_ATTEMPTS || rt.closed || rt.stopping) throw err;
      rt.deps.logger.warn({ agentId: id, attempt, err: err instanceof Error ? err.message : String(err) }, 'making the worktree failed; trying again');
      await new Promise((r) => setTimeout(r, backoffMs(attempt, { baseMs: 250, maxMs: 2000 })));
    }
  }
}

/**
 * Commits an ended agent's work, however it ended; the parent merges a completed child's (see
 * mergeIntoParent); the policy cleans up. A failed or terminated agent's work stays on its branch,
 * not merged: committed only on completion, it went with the worktree (the default policy removes
 * every ended agent's), and a model error after twenty files lost all twenty (a trial's).
 */
export async function finishWorkspace(rt: RuntimeContext, actor: LiveActor): Promise<void> {
  const ws = rt.deps.workspaces;
  const c = actor.snapshot.context;
  ws?.stop?.(c.id); // its commands end with it, background children included
  if (!ws || !c.workspace || c.workspaceRemoved) return;
  if (!c.lastCommit && c.result) {
    const how = c.result.status === 'completed' ? '' : ` (${c.result.status})`;
    const committed = await ws.commit(c.id, `${c.role}${how}: ${c.task.slice(0, 60)}`);
    if (committed) await execute(rt, c.id, (s) => (s.context.lastCommit ? [] : [{ type: 'WorkspaceCommitted', data: committed }]));
  }
}

/** Merges a completed child's branch into its parent's worktree, once; null if there is nothing to merge. */
export async function mergeIntoParent(rt: RuntimeContext, child: AgentContext, parent: AgentContext) {
  const ws = rt.deps.workspaces;
  if (!ws || !child.workspace || !parent.workspace || child.result?.status !== 'completed') return null;
  if (parent.merges.some((m) => m.childId === child.id)) return null;
  try {
    return await ws.merge(child.id, parent.id);
  } catch (err) {
    // A merge that cannot run (say the parent's tree is mid-write) must never hold back the
    // child's end or its budget: it is recorded as not merged, and the branch stays for review.
    rt.deps.logger.warn({ agentId: child.id, err: err instanceof Error ? err.message : String(err) }, 'merge not possible');
    return { status: 'conflict' as const, files: [] };
  }
}

/** Removes an ended agent's worktree if the cleanup policy says so (or if it was never recorded). */
export async function cleanUpWorkspace(rt: RuntimeContext, id: string, c: AgentContext): Promise<void> {
  const ws = rt.deps.workspaces;
  if (!ws || c.workspaceRemoved) return;
  if (!c.workspace) {
    // Asked for one and ended without recording it (git failed half-way, or a timeout or fire
    // came first): git may have added it all the same, and no event will ever name it.
    if (c.workspaceRequest) await ws.remove(id, { deleteBranch: true });
    return;
  }
  if (!c.result || !shouldRemove(rt.deps.config.cleanupPolicy, c.result.status)) return;
  // A worktree whose last commit did not take all its files stays, with them: an agent that did
  // not complete (git refused one: a bad .gitattributes; or a .gitignore of `*` the model wrote),
  // or a completed one whose commit failed (a root's is logged and left: nothing waits on it) or
  // whose own .gitignore hid its work from the commit; not for build output the repository's
  // .gitignore hides. Removed regardless, four trials' files were lost with no commit.
  const keepUnsaved = c.result.status === 'completed' ? 'work' : 'all';
  if ((await ws.remove(id, { deleteBranch: false, keepUnsaved })).kept) {
    rt.deps.logger.warn({ agentId: id, path: c.workspace.path }, 'kept the ended agent’s worktree: it holds files its last commit does not (see git status there)');
    return;
  }
  await execute(rt, id, (s) => (s.context.workspaceRemoved ? [] : [{ type: 'WorkspaceRemoved', data: { path: c.workspace!.path, branchDeleted: false } }]));
}
