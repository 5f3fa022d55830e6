/**
 * A child process for the crash test (tests/int/crash.int.test.ts): builds a 3-level tree on a
 * Postgres schema with the offline model (with latency, so there is something to kill) and runs
 * it. The test SIGKILLs it at a random moment and recovers in another process.
 *
 * env: CRASH_PG_URL, CRASH_SCHEMA. stdout: one JSON line per milestone.
 */
import { createAgentSystem } from '../../src/system.js';

const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

const system = await createAgentSystem({
  store: { kind: 'postgres', connectionString: process.env.CRASH_PG_URL! },
  schema: process.env.CRASH_SCHEMA!,
  model: { provider: 'offline', latencyMs: 25 },
  maxConcurrentAgents: 3,
  recover: false,
  env: {},
});
const root = await system.spawn({ role: 'lead', task: 'coordinate the work', budget: 200_000 });
say({ root: root.id });
for (let i = 0; i < 3; i++) {
  const child = await root.spawn({ role: `manager-${i}`, task: `area ${i}`, budget: 40_000 });
  for (let j = 0; j < 2; j++) await child.spawn({ role: `worker-${i}-${j}`, task: `piece ${i}.${j}`, budget: 10_000 });
}
say({ spawned: true });
const result = await root.run();
say({ done: result.status });
await system.close();
