import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { attachWorkflows, loadTemplates } from '../../src/workflows/index.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { nodeCompletions, nodeStarts } from '../support/nodeEvents.js';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const systemModule = resolve('src/system.ts');
const workflowsModule = resolve('src/workflows/index.ts');

/** Runs a tdd workflow in a child process and prints its node statuses as they change. */
const runner = `
import { createAgentSystem } from ${JSON.stringify(systemModule)};
import { attachWorkflows, followWorkflow, loadTemplates } from ${JSON.stringify(workflowsModule)};
const [url, schema] = process.argv.slice(2);
const system = await createAgentSystem({ store: { kind: 'postgres', connectionString: url }, schema, model: { provider: 'offline', latencyMs: 250 }, env: {}, recover: false });
const workflows = attachWorkflows(system.internal.runtime, { templates: await loadTemplates() });
const id = await workflows.spawn({ templateId: 'tdd-workflow' }, { task: 'Add a slug helper', budget: 40000 });
process.stdout.write('spawned ' + id + '\\n');
void system.internal.runtime.run(id);
for await (const p of followWorkflow(system, id, { intervalMs: 10 })) {
  process.stdout.write('nodes ' + JSON.stringify(Object.fromEntries(p.nodes.map((n) => [n.id, n.status]))) + '\\n');
}
`;

describe('workflow recovery on postgres', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cadre-wf-kill-'));
  let system: AgentSystem | undefined;
  afterAll(async () => {
    await system?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes a workflow SIGKILLed mid-run without re-running completed nodes', async () => {
    const schema = freshSchema('wfkill');
    const script = join(dir, 'runner.mts');
    writeFileSync(script, runner);
    const child = spawn(process.execPath, [tsxCli, script, testPgUrl(), schema], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    // Kill once two nodes are done and the third is running.
    const workflowId = await new Promise<string>((done, reject) => {
      let id = '';
      let buffer = '';
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) {
          if (line.startsWith('spawned ')) id = line.slice(8);
          if (!line.startsWith('nodes ')) continue;
          const nodes = JSON.parse(line.slice(6)) as Record<string, string>;
          if (nodes.design === 'completed' && nodes.tests === 'completed' && nodes.implement === 'running') {
            process.kill(-child.pid!, 'SIGKILL');
            done(id);
          }
        }
      });
      child.on('exit', () => reject(new Error(`runner exited before the kill: ${stderr}`)));
    });
    expect(await exited).toBe('SIGKILL');

    system = await createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema, model: { provider: 'offline' }, env: {}, recover: false });
    const before = await system.replay(workflowId);
    expect(before.status).not.toMatch(/completed|failed/);
    const doneBefore = Object.entries(before.nodes).filter(([, n]) => n.status === 'completed');
    expect(doneBefore.map(([id]) => id).sort()).toEqual(['design', 'tests']);
    const lengths = new Map<string, number>();
    for (const [, n] of doneBefore) lengths.set(n.childId!, (await system.history(n.childId!)).length);

    const workflows = attachWorkflows(system.internal.runtime, { templates: await loadTemplates() });
    await system.internal.runtime.recover();
    await workflows.resume();
    const result = await system.run(workflowId);
    expect(result.status).toBe('completed');

    const history = await system.history(workflowId);
    const started = nodeStarts(history);
    expect(started).toEqual([
      expect.objectContaining({ nodeId: 'design', attempt: 1 }),
      expect.objectContaining({ nodeId: 'tests', attempt: 1 }),
      expect.objectContaining({ nodeId: 'implement', attempt: 1 }),
      expect.objectContaining({ nodeId: 'review', attempt: 1 }),
    ]);
    expect(history.filter((e) => e.type === 'ChildSpawned')).toHaveLength(4);
    expect(nodeCompletions(history)).toHaveLength(4);
    expect(history.filter((e) => e.type === 'NodeStarted' || e.type === 'NodeCompleted')).toHaveLength(0);
    // The nodes completed before the kill were not run again: their streams did not grow.
    for (const [childId, length] of lengths) expect((await system.history(childId)).length).toBe(length);
    const wf = await system.replay(workflowId);
    let consumed = wf.budget.consumed;
    for (const c of wf.children) consumed += (await system.replay(c.id)).budget.consumed;
    expect(wf.budget.allocated).toBe(consumed + wf.budget.available);
  });
});
