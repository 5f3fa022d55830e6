/**
 * Fork: start a new agent from another one as it was at a revision of its stream — here just
 * before its last model reply, with a bigger budget — and compare the two runs. The source is
 * only read; the fork has its own id, stream and budget, and its spawn event says where it came
 * from (`forkedFrom`).
 */
import { runFacts, type AgentSystem } from 'cadre';
import { runIfMain, useSystem } from './withSystem.js';

export async function main(given?: AgentSystem) {
  return useSystem(given, async (system) => {
    const source = await system.spawn({ role: 'analyst', task: 'Check the numbers', budget: 8_000 });
    await source.run();
    const history = await system.history(source.id);
    const atRevision = history.findLastIndex((e) => e.type === 'ModelReplied') - 1;

    const fork = await system.fork(source.id, { atRevision, budget: 16_000 });
    const result = await fork.run();
    const spawned = (await system.history(fork.id))[0]!;
    const [a, b] = await Promise.all([runFacts(system, source.id), runFacts(system, fork.id)]);
    return {
      status: result.status,
      forkedFrom: spawned.type === 'AgentSpawned' ? spawned.data.forkedFrom : undefined,
      sourceHistoryUnchanged: JSON.stringify(await system.history(source.id)) === JSON.stringify(history),
      tokens: { source: a.tokens, fork: b.tokens },
      allocated: (await fork.state()).budget.allocated,
    };
  });
}

runIfMain(import.meta, main);
