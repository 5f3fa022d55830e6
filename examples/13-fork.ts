/**
 * Fork: start a new agent from another one as it was at a revision of its stream — here just
 * before its last model reply, with a bigger budget — and compare the two runs. The source is
 * only read; the fork has its own id, stream and budget, and its spawn event says where it came
 * from (`forkedFrom`). Then a whole workflow, from just after its implement node ended: the fork
 * takes its subtree along (the ended nodes copied, not run again) and runs the rest.
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

    const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 60_000 });
    await wf.run();
    const steps = await system.history(wf.id);
    // A node completes with its child's ChildFinished (completesNode names it; older streams: a NodeCompleted after it).
    const completedNode = (e: (typeof steps)[number]): string | null => (e.type === 'ChildFinished' ? e.data.completesNode : e.type === 'NodeCompleted' ? e.data.nodeId : null);
    const afterImplement = steps.findIndex((e) => completedNode(e) === 'implement');
    const wfFork = await system.fork(wf.id, { atRevision: afterImplement });
    const nodesOf = async (id: string) => (await system.history(id)).flatMap((e) => completedNode(e) ?? []);
    return {
      workflow: { status: (await wfFork.run()).status, copied: await nodesOf(wf.id).then((n) => n.slice(0, n.indexOf('implement') + 1)), nodes: await nodesOf(wfFork.id) },
      status: result.status,
      forkedFrom: spawned.type === 'AgentSpawned' ? spawned.data.forkedFrom : undefined,
      sourceHistoryUnchanged: JSON.stringify(await system.history(source.id)) === JSON.stringify(history),
      tokens: { source: a.tokens, fork: b.tokens },
      allocated: (await fork.state()).budget.allocated,
    };
  });
}

runIfMain(import.meta, main);
