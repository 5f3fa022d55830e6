import { failureEvents } from '../agentDecisions.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import type { LiveActor } from '../liveActor.js';
import { execute } from './commandExecutor.js';
import type { RuntimeContext } from './runtimeContext.js';

/** How long an agent may wait for a process with its tools before it fails (createAgentSystem's missingToolTimeoutMs). */
export const DEFAULT_MISSING_TOOL_TIMEOUT_MS = 60_000;

/**
 * Whether this process may host `actor`, whose effects may call any of its user tools: only if
 * it has them all (tools are code; events only name them). An agent it lacks one for is given
 * up at once, its lease free for a process that has them. One nobody has hosted for
 * `missingToolTimeoutMs` fails here with a reason that names the tools, rather than waiting
 * for ever: true is then returned, so its ending runs here.
 */
export async function mayHost(rt: RuntimeContext, actor: LiveActor): Promise<boolean> {
  const c = actor.snapshot.context;
  if (!(await reachesWorktree(rt, actor))) return false;
  const missing = c.tools.length === 0 || isTerminalStatus(statusOf(actor.snapshot.value)) ? [] : rt.deps.tools.missing(c.tools);
  const declined = rt.declinedForTools;
  if (missing.length === 0) {
    declined.delete(actor.id);
    return true;
  }
  const now = rt.deps.clock.now().getTime();
  const since = declined.get(actor.id) ?? now;
  declined.set(actor.id, since);
  const timeout = rt.deps.config.missingToolTimeoutMs ?? DEFAULT_MISSING_TOOL_TIMEOUT_MS;
  if (now - since >= timeout) {
    declined.delete(actor.id);
    const reason = `no process on this store has the tool${missing.length > 1 ? 's' : ''} ${missing.join(', ')} registered (waited ${Math.round(timeout / 1000)} s): give it to createAgentSystem({ tools }) (an MCP server's tool, <server>__<tool>: the server to createAgentSystem({ mcpServers })) in a process that runs this agent`;
    await execute(rt, actor.id, (s) => (isTerminalStatus(statusOf(s.value)) ? [] : failureEvents(s.context, 'tool_unavailable', reason)));
    return true;
  }
  rt.deps.logger.warn({ agentId: actor.id, missing }, `not hosting agent ${actor.id}: this process has no tool ${missing.join(', ')}; left for a process that has`);
  // Still cached, to be read (a run() here waits on it), but not hosted: no effect of its runs here.
  await rt.worker?.giveUp(actor.id).catch(() => {});
  return false;
}

/** How long a worker leaves an agent whose worktree it cannot reach to the others before it claims it again. */
const WORKTREE_ELSEWHERE_MS = 60_000;

/**
 * Whether this process can work on `actor`'s worktree, if it has one not yet removed: one made
 * in another folder's repository is not its to commit, merge or edit. A worker started from
 * another folder took such an agent, retried "no usable worktree" for its ending 13 times in
 * 20 s and claimed it again, while the worker that could end it waited (a new-user try). It is
 * declined instead, left to the others for a minute, with a warning naming its worktree.
 */
async function reachesWorktree(rt: RuntimeContext, actor: LiveActor): Promise<boolean> {
  const c = actor.snapshot.context;
  const ws = c.workspace;
  // One still to be made, where there is no repository to make it in: it ran without one,
  // silently (a new user's `cadre start` from another folder). Left to a process that has one.
  const elsewhere = !ws && c.workspaceRequest && !isTerminalStatus(statusOf(actor.snapshot.value)) ? repositoryMismatch(rt, c.workspaceRequest) : null;
  if (elsewhere) {
    rt.deps.logger.warn({ agentId: actor.id }, `not hosting agent ${actor.id}: ${elsewhere}; left for a cadre started there (or with WORKSPACE_REPO)`);
    await rt.worker?.decline(actor.id, WORKTREE_ELSEWHERE_MS).catch(() => {});
    return false;
  }
  if (!ws || c.workspaceRemoved) return true;
  const port = rt.deps.workspaces;
  // No repository here: it cannot be reached. A port that cannot tell: hosted, as before.
  if (port && (!port.reaches || (await port.reaches(actor.id, ws.path)))) return true;
  rt.deps.logger.warn({ agentId: actor.id, worktree: ws.path }, `not hosting agent ${actor.id}: its worktree ${ws.path} is not in this process's repository; left for a cadre started where it was made`);
  await rt.worker?.decline(actor.id, WORKTREE_ELSEWHERE_MS).catch(() => {});
  return false;
}

/**
 * Why this process cannot make the worktree `request` asks for, or null if it can: it has no
 * repository, or the agent was spawned to work in another (a worker in one repository made the
 * worktree and commits of an agent spawned in another, a new user's try).
 */
export function repositoryMismatch(rt: RuntimeContext, request: { readonly repo?: string | undefined }): string | null {
  const here = rt.deps.workspaces;
  if (!here) return 'it asks for a git worktree, and this process has no git repository';
  if (request.repo && here.isOtherRepository?.(request.repo)) return `it works in the repository ${request.repo}, and this process's is ${here.repo ?? 'another'}`;
  return null;
}
