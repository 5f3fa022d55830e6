import { liveChildren, type AgentContext } from '../agentContext.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { loadActor } from './actorCache.js';
import type { RuntimeContext } from './runtimeContext.js';
import { repositoryMismatch } from './toolHosting.js';

/** An agent of a subtree that nobody hosts and this process cannot host: its worktree is another repository's, or this process has none. */
export interface UnreachableWorktree {
  readonly agentId: string;
  readonly role: string;
  /** Its worktree, or null when it is still to be made. */
  readonly path: string | null;
  readonly why: string;
}

/** At most this many of a subtree's live agents are looked at (a tree that large is not resumed by hand). */
const MAX_LOOKED_AT = 1_000;

/**
 * The live agents of `id`'s subtree that no live process holds (`isGone`: a lease owner known to
 * be dead, whose lease has not lapsed yet) and whose worktree this process cannot reach (one made
 * from another repository, or under another WORKSPACE_BASE_PATH). A `cadre start <id> --wait`
 * from another folder waited for them for ever, each tick warning that it was "left for a cadre
 * started where it was made" (a new user's try): the CLI asks this first and says where to run it.
 */
export async function unreachableWorktrees(rt: RuntimeContext, id: string, isGone: (owner: string) => boolean): Promise<UnreachableWorktree[]> {
  const candidates: UnreachableWorktree[] = [];
  const queue = [id];
  for (let looked = 0; queue.length > 0 && looked < MAX_LOOKED_AT; looked++) {
    const agentId = queue.shift()!;
    const { snapshot } = await loadActor(rt, agentId);
    const c = snapshot.context;
    if (isTerminalStatus(statusOf(snapshot.value))) continue;
    queue.push(...liveChildren(c));
    const why = await whyUnreachable(rt, agentId, c);
    if (why) candidates.push({ agentId, role: c.role, path: c.workspace?.path ?? null, why });
  }
  if (candidates.length === 0) return [];
  const holders = await rt.deps.index.leaseHolders(candidates.map((x) => x.agentId));
  return candidates.filter((x) => {
    const holder = holders.get(x.agentId);
    return holder === undefined || isGone(holder);
  });
}

/** Why this process cannot work on `c`'s worktree (made, or still to be made), or null if it can. */
async function whyUnreachable(rt: RuntimeContext, agentId: string, c: AgentContext): Promise<string | null> {
  if (!c.workspace) return c.workspaceRequest ? repositoryMismatch(rt, c.workspaceRequest) : null;
  if (c.workspaceRemoved) return null;
  const port = rt.deps.workspaces;
  if (!port) return 'this process has no git repository';
  // A port that cannot tell: reachable, as hosting takes it (toolHosting.ts).
  return port.reaches && !(await port.reaches(agentId, c.workspace.path)) ? "it is not in this process's repository" : null;
}
