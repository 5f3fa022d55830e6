import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentSystem } from '../../src/system.js';
import { agentTree } from '../../src/dashboard/agentTree.js';
import type { ModelProvider, ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createOfflineProvider } from '../../src/infra/model/offlineProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { ModelError, InvalidGraph, InvalidInput, NotFound, PlanRejected } from '../../src/errors.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { nodeCompletions, nodeStarts } from '../support/nodeEvents.js';
import { WorkflowAgent } from '../../src/agent.js';
import { readTrace } from '../../src/telemetry/readTrace.js';
import { useDefaultSystem } from '../../src/defaultSystem.js';
import {
  attachWorkflows, decompose, loadTemplates, runWorkflow, spawnWorkflow, watchWorkflow,
  createWorkflowsApi, workflowsOf, type TemplateRegistry, type WorkflowProgress, type Workflows,
} from '../../src/workflows/index.js';

const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const finish = (output: string): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id: 'toolu_1', name: 'finish', input: { output } }], stopReason: 'tool_use', usage });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nodeIdOf = (r: ModelRequest): string => r.agent?.task.split('\n')[0] ?? '?';

/** Σ consumed over the tree below (and including) an agent, read from each stream. */
async function treeConsumed(system: AgentSystem, id: string): Promise<number> {
  const s = await system.replay(id);
  let total = s.budget.consumed;
  for (const c of s.children) total += await treeConsumed(system, c.id);
  return total;
}

async function attached(system: AgentSystem, templates: TemplateRegistry): Promise<Workflows> {
  const w = attachWorkflows(system.internal.runtime, { templates });
  await system.internal.runtime.recover();
  await w.resume();
  return w;
}

/** One model per system whose behaviour each test picks: the offline model unless told. */
function switchableModel(): ModelProvider & { use(m: ModelProvider | null): void } {
  const offline = createOfflineProvider({ latencyMs: 30 });
  let current: ModelProvider = offline;
  return {
    name: 'switchable',
    isLLM: false,
    defaultModel: offline.defaultModel,
    complete: (r, o) => current.complete(r, o),
    estimateInputTokens: (r) => current.estimateInputTokens(r),
    use(m) {
      current = m ?? offline;
    },
  };
}

let templates: TemplateRegistry;
beforeAll(async () => {
  templates = await loadTemplates();
});

for (const kind of ['pglite', 'postgres'] as StoreKind[]) {
  describe(`workflows on ${kind}`, () => {
    let system: AgentSystem;
    const model = switchableModel();
    beforeAll(async () => {
      system = await testSystem(kind, { recover: false, model });
      await attached(system, templates);
    });
    afterEach(() => {
      model.use(null);
      attachWorkflows(system.internal.runtime, { templates });
    });
    afterAll(() => system.close());

    it('runs the tdd template in order, splits and reclaims the budget, and reports progress', async () => {
      const updates: WorkflowProgress[] = [];
      const id = await spawnWorkflow(system, { templateId: 'tdd-workflow' }, { task: 'Add a slugify helper', budget: 40_000 });
      const watch = watchWorkflow(system, id, (p) => updates.push(p), { intervalMs: 10 });
      const result = await runWorkflow(system, id);
      const last = await watch.done;
      expect(result.status).toBe('completed');
      expect(result.output).toMatch(/^Workflow: 4 of 4 nodes completed\./);

      const history = await system.history(id);
      const types = history.map((e) => e.type);
      expect(types.indexOf('WorkflowPlanned')).toBeLessThan(types.indexOf('ChildSpawned'));
      // Each node is started by its child's ChildSpawned (v4) and completed by its ChildFinished (v3): no NodeStarted or NodeCompleted.
      expect(types.filter((t) => t === 'NodeStarted' || t === 'NodeCompleted')).toEqual([]);
      const started = nodeStarts(history);
      expect(started.map((s) => s.nodeId)).toEqual(['design', 'tests', 'implement', 'review']);
      expect(started.map((s) => s.budget)).toEqual([6000, 10_000, 16_000, 8000]);
      // Each node starts only after its dependency completed.
      const completed = nodeCompletions(history);
      const at = (list: ReadonlyArray<{ nodeId: string; at: number }>, nodeId: string): number => list.find((x) => x.nodeId === nodeId)!.at;
      expect(at(completed, 'design')).toBeLessThan(at(started, 'tests'));
      expect(at(completed, 'tests')).toBeLessThan(at(started, 'implement'));
      expect(at(completed, 'implement')).toBeLessThan(at(started, 'review'));

      const wf = await system.replay(id);
      expect(wf.budget.delegated).toBe(0);
      expect(wf.budget.reserved).toBe(0);
      expect(wf.budget.allocated).toBe((await treeConsumed(system, id)) + wf.budget.available);
      expect(result.budgetConsumed).toBe(wf.budget.allocated - wf.budget.available);
      // Each node child's end returns its budget itself (ChildFinished v2): no BudgetReclaimed beside it.
      expect(history.filter((e) => e.type === 'ChildFinished' && e.data.reclaim !== null)).toHaveLength(4);
      expect(history.filter((e) => e.type === 'BudgetReclaimed')).toHaveLength(0);

      // Outputs flow: the tester's task carries the architect's output.
      const tests = wf.children.find((c) => c.role === 'tester')!;
      const designOut = nodeCompletions(history)[0]!.output;
      expect((await system.replay(tests.id)).task).toContain(designOut);

      expect(last?.status).toBe('completed');
      expect(last?.nodes.every((n) => n.status === 'completed' && n.consumed !== null && n.consumed > 0)).toBe(true);
      expect(updates.some((u) => u.nodes.some((n) => n.status === 'running'))).toBe(true);
    });

    it('starts a workflow spawned with start: true in its spawn\'s commit, with its first node; run() then only waits', async () => {
      const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'Add a slugify helper', budget: 40_000, start: true });
      const opening = await system.history(wf.id);
      // One commit: the spawn, the plan, the start and the first node's spawn share a transaction.
      expect(opening.slice(0, 4).map((e) => e.type)).toEqual(['AgentSpawned', 'WorkflowPlanned', 'AgentStarted', 'ChildSpawned']);
      expect(new Set(opening.slice(0, 4).map((e) => BigInt(e.position) >> 20n)).size).toBe(1);
      const spawned = opening[3]!;
      if (spawned.type !== 'ChildSpawned') throw new Error(`expected ChildSpawned, got ${spawned.type}`);
      const firstNode = await system.history(spawned.data.childId);
      expect(BigInt(firstNode[0]!.position) >> 20n).toBe(BigInt(opening[0]!.position) >> 20n); // the node child opened in it too
      const result = await wf.run();
      expect(result.status).toBe('completed');
      const history = await system.history(wf.id);
      expect(history.filter((e) => e.type === 'AgentStarted' || e.type === 'AgentRunRequested')).toHaveLength(1);
      expect(nodeStarts(history).map((n) => n.nodeId)).toEqual(['design', 'tests', 'implement', 'review']);
      const refused = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 't', budget: 1_000, start: 'yes' as unknown as boolean }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(InvalidInput);
      expect((refused as InvalidInput).field).toBe('start');
    });

    it('runs independent nodes in parallel (their model calls overlap in time)', async () => {
      const calls: Record<string, { start: number; end: number }> = {};
      model.use(createScriptedProvider(async (r) => {
        const start = Date.now();
        await sleep(r.agent?.role === 'implementer' || r.agent?.role === 'tester' ? 400 : 20);
        calls[r.agent!.role] = { start, end: Date.now() };
        return finish(`${r.agent!.role} did: ${nodeIdOf(r)}`);
      }));
      const id = await spawnWorkflow(system, { templateId: 'backend-dev-workflow' }, { task: 'Add /health', budget: 40_000 });
      expect((await runWorkflow(system, id)).status).toBe('completed');
      const { implementer: impl, tester: test, architect, reviewer } = calls;
      expect(impl!.start).toBeLessThan(test!.end);
      expect(test!.start).toBeLessThan(impl!.end);
      expect(architect!.end).toBeLessThanOrEqual(Math.min(impl!.start, test!.start));
      expect(reviewer!.start).toBeGreaterThanOrEqual(Math.max(impl!.end, test!.end));
      // 10% of the budget was never assigned and stays with the workflow.
      const wf = await system.replay(id);
      expect(wf.budget.available).toBeGreaterThanOrEqual(4000);
      expect(wf.budget.allocated).toBe((await treeConsumed(system, id)) + wf.budget.available);
    });

    // These paths do not depend on the store; they run once, on PGlite.
    if (kind === 'pglite') describe('failure paths, validation, templates, decomposition', () => {
      it('retries a node that failed once, and finishes with partial results past an optional one', async () => {
        const seen: string[] = [];
        model.use(createScriptedProvider((r) => {
          const node = nodeIdOf(r);
          seen.push(node);
          if (node === 'Flaky' && seen.filter((n) => n === 'Flaky').length === 1) throw new ModelError('transient');
          if (node === 'Optional') throw new ModelError('always broken');
          return finish(`done ${node}`);
        }));
        const graph = {
          nodes: [
            { id: 'flaky', role: 'implementer', task: 'Flaky', budgetPercent: 30, retries: 1 },
            { id: 'optional', role: 'researcher', task: 'Optional', budgetPercent: 20, onFailure: 'continue' },
            { id: 'final', role: 'writer', task: 'Final', budgetPercent: 30, dependencies: ['flaky', 'optional'] },
          ],
        };
        const id = await spawnWorkflow(system, { graph }, { task: 'Write it up', budget: 30_000 });
        const result = await runWorkflow(system, id);
        expect(result.status).toBe('completed');
        const history = await system.history(id);
        const failed = history.filter((e) => e.type === 'NodeFailed').map((e) => e.data as { nodeId: string; attempt: number; willRetry: boolean; reason: string });
        expect(failed.find((f) => f.nodeId === 'flaky')).toMatchObject({ attempt: 1, willRetry: true, reason: expect.stringMatching(/transient/) });
        expect(failed.find((f) => f.nodeId === 'optional')).toMatchObject({ attempt: 1, willRetry: false });
        expect(failed).toHaveLength(2);
        const wf = await system.replay(id);
        expect(wf.nodes.flaky).toMatchObject({ status: 'completed', attempt: 2 });
        expect(wf.nodes.optional).toMatchObject({ status: 'failed' });
        expect(wf.children.filter((c) => c.role === 'implementer').map((c) => c.status)).toEqual(['failed', 'completed']);
        // Both attempts are the node's in the tree read from the streams (the failed one showed none).
        const tree = await agentTree(system, id);
        expect(tree.children.filter((c) => c.role === 'implementer').map((c) => [c.nodeId, c.status])).toEqual([['flaky', 'failed'], ['flaky', 'completed']]);
        const finalTask = (await system.replay(wf.nodes.final!.childId!)).task;
        expect(finalTask).toContain('--- optional (researcher, failed, partial result) ---');
        expect(finalTask).toContain('done Flaky');
        expect(wf.budget.allocated).toBe((await treeConsumed(system, id)) + wf.budget.available);
      });

      it('fails the workflow when a required node fails for good', async () => {
        model.use(createScriptedProvider((r) => {
          if (nodeIdOf(r) === 'Breaks') throw new ModelError('broken for good');
          return finish('ok');
        }));
        const graph = { nodes: [{ id: 'a', role: 'tester', task: 'Breaks', budgetPercent: 40 }, { id: 'b', role: 'tester', task: 'After', budgetPercent: 40, dependencies: ['a'] }] };
        const id = await spawnWorkflow(system, { graph }, { task: 't', budget: 10_000 });
        const result = await runWorkflow(system, id);
        expect(result.status).toBe('failed');
        expect(result.reason).toBe('required node a failed; required node b not run');
        const wf = await system.replay(id);
        expect(wf.result?.cause).toBe('child_failed');
        expect(wf.nodes.b?.status).toBe('skipped');
        expect(wf.budget.available + wf.budget.spentBySubtree).toBe(10_000);
      });

      it('terminates cleanly when fired mid-run: no retry starts, every token comes back', async () => {
        model.use(createScriptedProvider(async () => {
          await sleep(300);
          return finish('late');
        }));
        const graph = { nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 30, retries: 3 }, { id: 'b', role: 'tester', task: 'B', budgetPercent: 30, retries: 3 }] };
        const id = await spawnWorkflow(system, { graph }, { task: 't', budget: 10_000 });
        const running = runWorkflow(system, id);
        for (let i = 0; i < 200 && Object.keys((await system.replay(id)).nodes).length < 2; i++) await sleep(10);
        await system.terminate(id, 'stop');
        expect((await running).status).toBe('terminated');
        await sleep(400);
        const wf = await system.replay(id);
        expect(wf.children).toHaveLength(2);
        expect(wf.children.every((c) => c.status === 'terminated')).toBe(true);
        expect(wf.budget.available).toBe(10_000);
      });

      it('rejects invalid graphs before writing anything', async () => {
        const before = (await system.store.readAll()).length;
        const n = (id: string, deps: string[] = [], extra = {}) => ({ id, role: 'tester', task: id, budgetPercent: 10, dependencies: deps, ...extra });
        const cases: Array<[unknown, RegExp, new (...a: never[]) => Error]> = [
          [{ nodes: [n('a', ['b']), n('b', ['a'])] }, /dependency cycle (a -> b -> a|b -> a -> b)/, InvalidGraph],
          [{ nodes: [n('a', ['ghost'])] }, /graph\.nodes\[0\]\.dependencies: node "a" depends on unknown node "ghost"/, InvalidGraph],
          [{ nodes: [n('a'), n('a')] }, /graph\.nodes\[1\]\.id: duplicate node id "a"/, InvalidGraph],
          [{ nodes: [n('a', [], { budgetPercent: 70 }), n('b', [], { budgetPercent: 40 })] }, /percents sum to 110, over 100/, InvalidGraph],
          [{ nodes: [n('a', [], { role: 'wizard' })] }, /graph\.nodes\[0\]\.role: node "a" has unknown role "wizard"/, InvalidGraph],
          [{ nodes: [n('a', [], { budgetPercent: 101 })] }, /graph\.nodes\[0\]\.budgetPercent/, InvalidInput],
        ];
        for (const [graph, message, type] of cases) {
          const err = await spawnWorkflow(system, { graph }, { task: 't', budget: 1000 }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(type);
          expect((err as Error).message).toMatch(message);
        }
        await expect(spawnWorkflow(system, { templateId: 'nope' }, { task: 't', budget: 1000 })).rejects.toBeInstanceOf(NotFound);
        expect((await system.store.readAll()).length).toBe(before);
      });

      it('loads templates from a user folder, with their roles, and refuses a bad file by name and field', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'cadre-templates-'));
        try {
          writeFileSync(join(dir, 'audit.json'), JSON.stringify({
            id: 'audit-workflow', name: 'Security audit',
            nodes: [
              { id: 'scan', role: 'security-auditor', task: 'Scan for issues', budgetPercent: 50 },
              { id: 'report', role: 'writer', task: 'Report the issues', budgetPercent: 30, dependencies: ['scan'] },
            ],
          }));
          const registry = await loadTemplates({ userDir: dir });
          expect(registry.list().map((t) => t.id)).toEqual(['audit-workflow', 'backend-dev-workflow', 'bugfix-workflow', 'docs-workflow', 'research-report', 'tdd-workflow']);
          expect(registry.get('audit-workflow').origin).toBe('user');
          expect(registry.roles()).toContain('security-auditor');
          const w = attachWorkflows(system.internal.runtime, { templates: registry });
          expect(w.roles()).toContain('security-auditor');
          const id = await spawnWorkflow(system, { templateId: 'audit-workflow' }, { task: 'Audit the login code', budget: 10_000 });
          expect((await runWorkflow(system, id)).status).toBe('completed');
          expect((await system.history(id)).find((e) => e.type === 'WorkflowPlanned')!.data).toMatchObject({ source: 'template', templateId: 'audit-workflow' });
          // A graph may use a role a template introduced.
          const gid = await spawnWorkflow(system, { graph: { nodes: [{ id: 'x', role: 'security-auditor', task: 'x', budgetPercent: 10 }] } }, { task: 't', budget: 5000 });
          expect((await runWorkflow(system, gid)).status).toBe('completed');

          writeFileSync(join(dir, 'broken.json'), JSON.stringify({ id: 'broken', name: 'B', nodes: [{ id: 'a', role: 'tester', task: 't', budgetPercent: 'lots' }] }));
          await expect(loadTemplates({ userDir: dir })).rejects.toThrow(/broken\.json: nodes\[0\]\.budgetPercent/);
          writeFileSync(join(dir, 'broken.json'), '{ not json');
          await expect(loadTemplates({ userDir: dir })).rejects.toThrow(/broken\.json.*not a readable JSON file/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('adopts a node child spawned before a crash rather than starting the node twice', async () => {
        const w = attachWorkflows(system.internal.runtime, { templates });
        const id = await spawnWorkflow(system, { graph: { nodes: [{ id: 'only', role: 'tester', task: 'Only', budgetPercent: 50 }] } }, { task: 't', budget: 8000 });
        // As if an older process (ChildSpawned before v4) died right after spawning the child, before NodeStarted.
        const childId = w.childIdFor(id, 'only', 1);
        await system.internal.runtime.spawnChild(id, { id: childId, role: 'tester', task: 'Only', budget: 4000 }, { nodeId: 'only' });
        expect((await runWorkflow(system, id)).status).toBe('completed');
        const history = await system.history(id);
        expect(history.filter((e) => e.type === 'ChildSpawned')).toHaveLength(1);
        expect(history.filter((e) => e.type === 'NodeStarted').map((e) => e.data)).toEqual([{ nodeId: 'only', childId, attempt: 1, budget: 4000 }]);
      });

      it('decomposes with the offline planner and runs the plan', async () => {
        const id = await decompose(system, system.model, 'Design the cache, then implement it and write the tests. Review everything.', { budget: 60_000 });
        const history = await system.history(id);
        expect(history.map((e) => e.type)).toEqual(['AgentSpawned', 'BudgetReserved', 'BudgetSettled', 'WorkflowPlanned']);
        const plan = history[3]!.data as { source: string; graph: { nodes: Array<{ id: string }> } };
        expect(plan.source).toBe('decomposition');
        expect(plan.graph.nodes.map((n) => n.id)).toEqual(['architect-1', 'implementer-2', 'tester-3', 'reviewer-4']);
        expect((await runWorkflow(system, id)).status).toBe('completed');
        const wf = await system.replay(id);
        expect(wf.budget.consumed).toBeGreaterThan(0); // the planning call, paid by the workflow
        expect(wf.budget.allocated).toBe((await treeConsumed(system, id)) + wf.budget.available);
        // The trace counts every token the budget did: the planning call has its span, and the
        // agents' totals add up to what the whole tree consumed.
        const { spans } = await readTrace(system, id);
        const planning = spans.filter((s) => s.attributes['cadre.purpose'] === 'plan');
        expect(planning).toHaveLength(1);
        expect(planning[0]!.attributes['cadre.usage.total_tokens']).toBeGreaterThan(0);
        const charged = spans.filter((s) => s.kind === 'agent').reduce((sum, s) => sum + (s.attributes['cadre.usage.total_tokens'] as number), 0);
        expect(charged).toBe(await treeConsumed(system, id));
      });

      it('decomposes with a scripted model: an invalid plan first, then a valid one', async () => {
        const plan = (nodes: unknown[]): ModelReply => ({ model: 'scripted', content: [{ type: 'tool_use', id: 'toolu_plan', name: 'submit_plan', input: { nodes } }], stopReason: 'tool_use', usage });
        const planner = createScriptedProvider((_r, i) =>
          i === 0
            ? plan([
                { id: 'a', role: 'architect', task: 'A', budgetPercent: 50, dependencies: ['b'] },
                { id: 'b', role: 'implementer', task: 'B', budgetPercent: 50, dependencies: ['a'] },
              ])
            : plan([
                { id: 'a', role: 'architect', task: 'A', budgetPercent: 40, dependencies: [] },
                { id: 'b', role: 'implementer', task: 'B', budgetPercent: 40, dependencies: ['a'] },
              ]),
        );
        const id = await decompose(system, planner, 'Build a thing', { budget: 20_000 });
        const second = planner.requests[1]!;
        const feedback = second.messages[second.messages.length - 1]!.content[0]!;
        expect(feedback).toMatchObject({ type: 'tool_result', toolUseId: 'toolu_plan', isError: true });
        expect((feedback as { content: string }).content).toMatch(/dependency cycle/);
        const history = await system.history(id);
        expect(history.map((e) => e.type)).toEqual(['AgentSpawned', 'BudgetReserved', 'BudgetSettled', 'WorkflowPlanRejected', 'BudgetReserved', 'BudgetSettled', 'WorkflowPlanned']);
        // The refused answer is in the history, as the model gave it, with why it was refused.
        const refused = history[3]!.data as { attempt: number; answer: string; problems: string };
        expect(refused.attempt).toBe(1);
        expect(JSON.parse(refused.answer)).toEqual({ nodes: [expect.objectContaining({ id: 'a', dependencies: ['b'] }), expect.objectContaining({ id: 'b', dependencies: ['a'] })] });
        expect(refused.problems).toMatch(/dependency cycle/);
        expect((history[6]!.data as { graph: { nodes: unknown[] } }).graph.nodes).toHaveLength(2);
        expect((await runWorkflow(system, id)).status).toBe('completed');
        const wf = await system.replay(id);
        expect(wf.budget.consumed).toBe(240);
        // Shares come from what the planning left: floor(19_760 × 40%).
        const started = nodeStarts(await system.history(id)).map((s) => s.budget);
        expect(started).toEqual([7904, 7904]);

        // Invalid twice: the workflow is recorded as failed and the error thrown.
        const bad = createScriptedProvider(() => plan([{ id: 'x', role: 'wizard', task: 'X', budgetPercent: 10, dependencies: [] }]));
        const err = await decompose(system, bad, 'Build another', { budget: 20_000, id: 'wf-bad-plan' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(PlanRejected);
        expect((err as PlanRejected).workflowId).toBe('wf-bad-plan');
        expect((err as PlanRejected).lastProblem).toBeInstanceOf(InvalidGraph);
        expect(bad.requests).toHaveLength(2);
        expect((await system.replay('wf-bad-plan')).result).toMatchObject({ status: 'failed', cause: 'invalid_plan' });
        // Both answers are where the error points: the workflow's history.
        const answers = (await system.history('wf-bad-plan')).filter((e) => e.type === 'WorkflowPlanRejected').map((e) => e.data as { attempt: number; problems: string });
        expect(answers.map((a) => a.attempt)).toEqual([1, 2]);
        for (const a of answers) expect(a.problems).toMatch(/wizard/);

        // Two plans in one answer: refused, not the first taken and the second dropped unseen.
        const twice = plan([{ id: 'a', role: 'architect', task: 'A', budgetPercent: 60, dependencies: [] }]);
        const doubled = createScriptedProvider(() => ({ ...twice, content: [...twice.content, { ...twice.content[0]!, id: 'toolu_plan_2' }] }));
        await decompose(system, doubled, 'Build a fourth', { budget: 20_000, id: 'wf-doubled', attempts: 1 }).catch(() => {});
        const [doubledAnswer] = (await system.history('wf-doubled')).filter((e) => e.type === 'WorkflowPlanRejected');
        expect((doubledAnswer!.data as { problems: string }).problems).toBe('invalid plan: submit_plan was called 2 times in one answer; call it once, with the whole plan');
        expect(doubled.requests).toHaveLength(1);

        // An answer with no plan at all (text instead of the tool call) is recorded as its text.
        const chatty = createScriptedProvider(() => ({ model: 'scripted', content: [{ type: 'text', text: 'I would rather talk.' }], stopReason: 'end_turn', usage }));
        await decompose(system, chatty, 'Build a third', { budget: 20_000, id: 'wf-chatty', attempts: 1 }).catch(() => {});
        const [said] = (await system.history('wf-chatty')).filter((e) => e.type === 'WorkflowPlanRejected');
        expect((said!.data as { answer: string }).answer).toBe('I would rather talk.');
        expect((said!.data as { problems: string }).problems).toBe('invalid plan: the answer did not call submit_plan; submit the plan with it');
      });

      it('a workflow whose planning was interrupted (spawned, no plan recorded) fails saying so when run, not with a schema error', async () => {
        // What decompose leaves when its process stops during the planning call: the call's
        // reservation, recorded before it was made, still held.
        const runtime = workflowsOf(system).runtime;
        const id = await runtime.spawnRoot({ role: 'workflow', task: 'Build it', budget: 20_000 }, { kind: 'workflow' });
        await runtime.execute(id, () => [{ type: 'BudgetReserved', data: { reservationId: 'decompose-1', amount: 2_100 } }], { causationId: 'api:decompose' });
        expect((await system.replay(id)).budget).toMatchObject({ reserved: 2_100, available: 17_900 });
        const result = await runWorkflow(system, id);
        expect(result.status).toBe('failed');
        expect(result.reason).toMatch(/planning was interrupted before the model's plan was recorded; run the task again/);
        // Its end releases the hold, as an agent's end releases a call cut off by a crash.
        expect((await system.replay(id)).budget).toMatchObject({ allocated: 20_000, available: 20_000, reserved: 0 });
        expect((await system.history(id)).map((e) => e.type)).toContain('BudgetReleased');
      });

      it('an older record with its graph in AgentSpawned and no WorkflowPlanned (its process stopped between the two) is planned from it and runs; today\'s spawn does not repeat the graph there', async () => {
        const runtime = workflowsOf(system).runtime;
        const graph = { nodes: [{ id: 'only', role: 'tester', task: 'T', budgetPercent: 50, dependencies: [] }] };
        const id = await runtime.spawnRoot({ role: 'workflow', task: 'Old shape', budget: 20_000 }, { kind: 'workflow', graph });
        expect((await system.history(id)).map((e) => e.type)).toEqual(['AgentSpawned']);
        expect((await runWorkflow(system, id)).status).toBe('completed');
        const planned = (await system.history(id)).find((e) => e.type === 'WorkflowPlanned');
        expect(planned?.data).toMatchObject({ source: 'graph', graph: { nodes: [{ id: 'only' }] } });

        const wf = await system.workflows.spawnWorkflow({ graph, task: 'New shape', budget: 20_000 });
        const [spawned, plan] = await system.history(wf.id);
        expect(spawned!.data).not.toHaveProperty('graph');
        expect(plan!.type).toBe('WorkflowPlanned');
      });

      it('offers what the CLI uses (system.workflows): spawn, auto-decomposition, templates, a live feed', async () => {
        const ext = createWorkflowsApi(workflowsOf(system), system.model);
        expect(ext.templates.get('nope')).toBeNull();
        expect(ext.templates.get('tdd-workflow')?.nodes).toHaveLength(4);
        const wf = await ext.spawnAuto({ task: 'Write the notes and then review them', budget: 30_000 });
        const run = wf.run();
        const seen: string[] = [];
        for await (const p of ext.follow(wf.id, { intervalMs: 10 })) seen.push(`${p.status}:${p.nodes.map((n) => n.status).join(',')}`);
        expect((await run).status).toBe('completed');
        expect(seen.at(-1)).toBe('completed:completed,completed');
        expect((await ext.progress(wf.id)).source).toBe('decomposition');
        const byTemplate = await ext.spawnWorkflow({ templateId: 'docs-workflow', task: 'Document the API', budget: 30_000 });
        expect((await byTemplate.run()).status).toBe('completed');
      });

      it('spawns from a template through the seed-style static on a default system', async () => {
        useDefaultSystem(system);
        try {
          const wf = await WorkflowAgent.spawnFromTemplate({ templateId: 'bugfix-workflow', task: 'Fix the off-by-one in paging', budget: 50_000 });
          expect(wf).toBeInstanceOf(WorkflowAgent);
          expect((await wf.run()).status).toBe('completed');
          const p = await wf.progress();
          expect(p.templateId).toBe('bugfix-workflow');
          expect(p.nodes.map((n) => n.id)).toEqual(['reproduce', 'diagnose', 'fix', 'regression', 'review']);
        } finally {
          useDefaultSystem(null);
        }
      });
    });
  });
}
