import { createAgentSystem } from '../src/system.js';
const system = await createAgentSystem({ store: { kind: 'postgres', connectionString: process.env.DATABASE_URL! }, schema: `forkbench_${process.pid}`, env: {}, recover: false });
try {
  const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 120_000 });
  await wf.run();
  const h = await system.history(wf.id);
  const at = h.findIndex((e) => e.type === 'NodeCompleted' && e.data.nodeId === 'implement');
  const times: number[] = [];
  for (let i = 0; i < 20; i++) { const t = performance.now(); await system.fork(wf.id, { atRevision: at }); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  console.log(`fork of a 5-agent workflow subtree (${h.length} events in the root): p50 ${times[10]!.toFixed(1)} ms, p95 ${times[18]!.toFixed(1)} ms`);
} finally { await system.close(); }
