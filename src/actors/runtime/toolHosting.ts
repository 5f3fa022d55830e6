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
