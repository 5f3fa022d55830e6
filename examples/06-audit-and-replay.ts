/**
 * Audit and replay: every transition is an event; the history is the agent's full transcript
 * (model turns, tool calls, budget moves) and replay rebuilds its state at any revision without
 * calling the model again.
 */
import type { AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const agent = await system.spawn({ role: 'analyst', task: 'Check the numbers', budget: 8_000 });
    await agent.run();
    const events = await system.history(agent.id);
    const modelTurns = events.filter((e) => e.type === 'ModelReplied').length;
    const toolCalls = events.filter((e) => e.type === 'ToolCalled').map((e) => (e.type === 'ToolCalled' ? e.data.name : ''));
    const atSpawn = await system.replay(agent.id, { toRevision: 0 });
    const now = await system.replay(agent.id);
    return { events: events.length, types: events.map((e) => e.type), modelTurns, toolCalls, statusAtSpawn: atSpawn.status, statusNow: now.status, sameAsLive: now.status === (await agent.state()).status };
  });
}

runIfMain(import.meta, main);
