import type { AgentSystem } from '../system.js';
import { flatten } from '../dashboard/agentTree.js';
import { readAgentTree } from '../dashboard/readAgentTree.js';
import { spansOfAgent } from './spansOfAgent.js';
import type { Trace } from './traceSpan.js';

/**
 * The spans of the run under `rootId`, from each agent's recorded events; with `upTo`, as the
 * run was at that global position (time travel over the whole subtree: an agent spawned later is
 * not there yet, a call still open then is `running`).
 *
 * @example
 * const { spans } = await readTrace(system, rootId);
 */
export async function readTrace(system: Pick<AgentSystem, 'internal' | 'reports' | 'store' | 'history'>, rootId: string, options: { upTo?: number } = {}): Promise<Trace> {
  const agents = flatten(await readAgentTree(system, rootId));
  let position = 0;
  const spans = [];
  for (const agent of agents) {
    const history = (await system.history(agent.id)).filter((e) => options.upTo === undefined || e.position <= options.upTo);
    if (history.length === 0) continue;
    position = Math.max(position, history[history.length - 1]!.position);
    spans.push(...spansOfAgent(history));
  }
  // A position past the store's head is the head: nothing later can be shown yet.
  return { rootId, position: options.upTo === undefined ? position : Math.min(options.upTo, Number(await system.store.headPosition())), spans };
}
