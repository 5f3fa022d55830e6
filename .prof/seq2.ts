import { createAgentSystem } from '../src/system.js';
import { fakeModel, fakeModelProvider, WORKFLOW_ROLES } from '../bench/workflowModel.js';
import { benchDatabase } from '../bench/support.js';
const GRAPH = { nodes: WORKFLOW_ROLES.map((role, i) => ({ id: role, role, task: `Do the ${role}'s part.`, budgetPercent: 25, dependencies: i === 0 ? [] : [WORKFLOW_ROLES[i - 1]!] })) };
for (const [runProjections, runMessaging] of [[true, true], [false, true], [true, false], [false, false], [true, true]] as const) {
  const db = await benchDatabase();
  const system = await createAgentSystem({ store: { kind: 'postgres', connectionString: db.url }, schema: 'cadre', model: fakeModelProvider(fakeModel()), env: {}, recover: false, maxConcurrentAgents: 10_000, defaultAgentTimeoutMs: null, runProjections, runMessaging });
  const run = async () => { const wf = await system.workflows.spawnWorkflow({ graph: GRAPH, task: 't', budget: 100_000 }); await wf.run(); };
  for (let i = 0; i < 30; i++) await run();
  const n = 200; const cpu0 = process.cpuUsage(); const t = performance.now();
  for (let i = 0; i < n; i++) await run();
  const ms = performance.now() - t; const cpu = process.cpuUsage(cpu0);
  console.log(`projections ${runProjections} messaging ${runMessaging}: ${(n / (ms / 1000)).toFixed(1)} runs/s, ${(ms / n).toFixed(2)} ms/run, node cpu ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms/run`);
  await system.close(); await db.cleanup();
}
