/**
 * The process the fault suite attacks (tests/faults/faultRun.ts): a workflow of 5 layers of
 * FAULT_WIDTH nodes (default 10: 50 nodes) on a
 * Postgres store, the offline model wrapped to error or hang on some calls, optionally a git
 * worktree per agent, and a side load of messages between the workflow and its nodes.
 * `FAULT_MODE=start` spawns and runs it; `FAULT_MODE=recover` opens the same store in a fresh
 * process, lets recovery resume it, and runs it to its end.
 *
 * env: FAULT_PG_URL, FAULT_SCHEMA, FAULT_SEED, FAULT_MODE, FAULT_ROOT (recover), FAULT_REPO,
 * FAULT_WORKTREES, FAULT_INJECTIONS, FAULT_AGENT_TIMEOUT_MS, FAULT_WIDTH (optional). stdout: one JSON line per milestone.
 */
import { appendFileSync } from 'node:fs';
import { createAgentSystem } from '../../src/system.js';
import { createModelProvider } from '../../src/infra/model/createModelProvider.js';
import { workflowsOf } from '../../src/workflows/workflowRuntime.js';
import { faultyModel } from './faultyModel.js';
import { faultGraph, rng } from './faultPlan.js';

const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const env = process.env;
const seed = Number(env.FAULT_SEED ?? 1);
const mode = env.FAULT_MODE ?? 'start';

const inner = createModelProvider({ provider: 'offline', latencyMs: 3 });
// A different stream of faults after a restart, so recovery meets faults of its own.
// Each injection is logged synchronously, so a SIGKILL right after one cannot lose it.
const log = env.FAULT_INJECTIONS;
const model = faultyModel(inner, {
  seed: seed * 7919 + (mode === 'start' ? 0 : 1), errorRate: 0.05, hangRate: 0.03,
  ...(log ? { onInject: (kind: string) => appendFileSync(log, `${kind}\n`) } : {}),
});

const system = await createAgentSystem({
  store: { kind: 'postgres', connectionString: env.FAULT_PG_URL! },
  schema: env.FAULT_SCHEMA!,
  model,
  maxConcurrentAgents: 12,
  // Hanging model calls end here: the node times out, fails, and the workflow retries it.
  // Worktree seeds get longer: every `git worktree add` takes the repository's lock in turn, and
  // with 12 agents starting at once on a loaded 2-core machine (CI runs other files beside this
  // one) the last waited past 2.5 s on all three attempts, so whole layers were skipped
  // (reproduced with two busy loops beside the suite: 29 agents instead of 51+).
  defaultAgentTimeoutMs: Number(env.FAULT_AGENT_TIMEOUT_MS ?? 2500),
  ...(env.FAULT_REPO ? { workspace: { repo: env.FAULT_REPO, basePath: env.FAULT_WORKTREES!, cleanup: 'on_completion' as const } } : {}),
  env: {},
});
say({ up: mode });

let rootId = env.FAULT_ROOT ?? '';
if (mode === 'start') {
  // The workflow itself has a long limit; its nodes get the short default above.
  rootId = await workflowsOf(system.internal.runtime).spawn({ graph: faultGraph(seed, Number(env.FAULT_WIDTH ?? 10)) }, { task: `fault seed ${seed}`, budget: 2_000_000, timeoutMs: 10 * 60_000, ...(env.FAULT_REPO ? { workspace: true } : {}) });
  say({ root: rootId });
}

// Side load: the workflow writes to its node agents, some of which read and acknowledge.
const random = rng(seed * 31 + (mode === 'start' ? 0 : 3));
let stop = false;
const messages = (async () => {
  while (!stop) {
    await new Promise((r) => setTimeout(r, 40));
    const ctx = await system.internal.runtime.context(rootId).catch(() => null);
    if (!ctx) continue;
    const kids = Object.entries(ctx.children).filter(([, c]) => c.status === 'live').map(([id]) => id);
    if (kids.length === 0) continue;
    const to = kids[Math.floor(random() * kids.length)]!;
    await system.get(rootId).sendMessage(to, { n: Math.floor(random() * 1e6), note: 'fault side load' }).then(() => say({ sent: 1 }), () => {});
    if (random() < 0.5) await system.get(to).receiveMessages({ max: 5, ack: true }).catch(() => {});
  }
})();

const result = await system.run(rootId);
stop = true;
await messages;
say({ done: result.status });
await system.close();
