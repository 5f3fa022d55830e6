import { afterEach, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';
import type { ModelProvider } from '../../src/actors/ports/modelProvider.js';
import { nodeCompletions } from '../support/nodeEvents.js';
import { heldModel } from '../support/heldModel.js';

/**
 * Stopping a process while a model call is out (`cadre serve` stopped, a worker told to end):
 * the call, already sent and perhaps billed, is let finish and its reply recorded, so recovery
 * does not ask the model again (a new user saw 2 requests for 1 recorded call). Nothing new starts,
 * and close() still returns within 10 s.
 */
describe('close() lets a model call already sent finish and records it', () => {
  const systems: AgentSystem[] = [];
  afterEach(async () => {
    for (const s of systems.splice(0)) await s.close();
  });

  it('a 1.5 s call under way when close() is called: replied and recorded, not left for recovery to repeat', async () => {
    const schema = freshSchema('drain');
    const first = await testSystem('postgres', { schema, model: { provider: 'offline', latencyMs: 1_500 } });
    const agent = await first.spawn({ role: 'solo', task: 'answer', budget: 10_000 });
    void agent.run().catch(() => undefined);
    while (!(await first.history(agent.id)).some((e) => e.type === 'ModelRequested')) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await first.close();
    expect(Date.now() - started).toBeLessThan(10_000);

    const second = await testSystem('postgres', { schema, recover: false });
    systems.push(second);
    const history = await second.history(agent.id);
    const requested = history.filter((e) => e.type === 'ModelRequested');
    expect(requested).toHaveLength(1);
    const replies = history.filter((e) => e.type === 'ModelReplied');
    expect(replies).toHaveLength(1); // aborted, it was missing: the next host called again
    expect(replies[0]!.data).not.toHaveProperty('resent'); // sent once, by the host that recorded it
    expect((await second.replay(agent.id)).budget.reserved).toBe(0);
  });

  it('a call still out after the drain: aborted, sent again by the next host, and its reply says so (the provider may bill both)', async () => {
    const schema = freshSchema('resent');
    const hanging = heldModel(['solo']);
    const first = await testSystem('postgres', { schema, model: hanging });
    const agent = await first.spawn({ role: 'solo', task: 'answer', budget: 10_000 });
    void agent.run().catch(() => undefined);
    await hanging.called('solo'); // sent: the provider has it
    await first.close(); // the 5 s drain, then the call is aborted and nothing recorded
    expect(hanging.aborts.map((a) => a.role)).toEqual(['solo']);

    const second = await testSystem('postgres', { schema });
    systems.push(second);
    expect((await second.run(agent.id)).status).toBe('completed');
    const history = await second.history(agent.id);
    expect(history.filter((e) => e.type === 'ModelRequested')).toHaveLength(1);
    const replies = history.filter((e) => e.type === 'ModelReplied');
    expect(replies).toHaveLength(1);
    expect(replies[0]!.data).toMatchObject({ resent: true });
  }, 60_000);

  it('a workflow node whose call is answered while closing: its end is recorded, the next node is not spawned (nothing new starts)', async () => {
    const schema = freshSchema('drainwf');
    const first = await testSystem('postgres', { schema, model: { provider: 'offline', latencyMs: 1_500 } });
    const graph = { nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 40 }, { id: 'b', role: 'tester', task: 'B', budgetPercent: 40, dependencies: ['a'] }] };
    const wf = await first.workflows.spawnWorkflow({ graph, task: 't', budget: 20_000 });
    void wf.run().catch(() => undefined);
    const childOf = async (s: AgentSystem): Promise<string | undefined> => (await s.history(wf.id)).map((e) => e.data as { childId?: string }).find((d) => d.childId)?.childId;
    await expect.poll(async () => {
      const a = await childOf(first);
      return a !== undefined && (await first.history(a)).some((e) => e.type === 'ModelRequested');
    }, { timeout: 10_000 }).toBe(true);
    await first.close();

    const second = await testSystem('postgres', { schema, recover: false });
    systems.push(second);
    const history = await second.history(wf.id);
    expect(nodeCompletions(history)).toHaveLength(1);
    expect(history.filter((e) => e.type === 'ChildSpawned')).toHaveLength(1);
  });

  it('a parent waiting in spawn_agent for a child whose call hangs: close() returns after the drain, not at the child\'s timeout', async () => {
    const usage = { inputTokens: 100, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
    const model: ModelProvider = {
      name: 'spawn-then-hang', isLLM: false, defaultModel: 'm', estimateInputTokens: () => 200,
      complete: (request, options) => request.agent?.role === 'lead'
        ? Promise.resolve({ model: 'm', content: [{ type: 'tool_use', id: 'spawn_1', name: 'spawn_agent', input: { role: 'worker', task: 'wait', budget: 2_000 } }], stopReason: 'tool_use', usage })
        // The child's call never answers; the host's close aborts it after its drain.
        : new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
    };
    const system = await testSystem('postgres', { model, defaultAgentTimeoutMs: 120_000 });
    const lead = await system.spawn({ role: 'lead', task: 'delegate', budget: 10_000 });
    void lead.run().catch(() => undefined);
    await expect.poll(async () => (await lead.state()).children.length, { timeout: 10_000 }).toBe(1);
    const child = (await lead.state()).children[0]!.id;
    await expect.poll(async () => (await system.history(child)).some((e) => e.type === 'ModelRequested'), { timeout: 10_000 }).toBe(true);
    const started = Date.now();
    await system.close();
    // The 5 s drain, then no wait for the child's end (before: until its 120 s timeout).
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 60_000);
});

