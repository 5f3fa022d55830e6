import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DomainEvent, EventData } from '../../src/events/catalogue.js';
import { evolve, initialContext, liveChildren, type AgentContext } from '../../src/actors/agentContext.js';
import { available } from '../../src/actors/budget.js';
import { validateGraph, type WorkflowGraphInput } from '../../src/workflows/graph.js';
import { nextStep, nodeTask } from '../../src/workflows/scheduler.js';
import { progressOf } from '../../src/workflows/progress.js';

/** A workflow agent's context, folded with the pure `evolve` only. */
function workflow(graph: WorkflowGraphInput, budget = 10_000): AgentContext {
  const spawned: EventData<'AgentSpawned'> = {
    agentId: 'wf', parentId: null, rootId: 'wf', depth: 0, kind: 'workflow', role: 'workflow', task: 'Ship it',
    budget, workspace: null, timeoutMs: null, maxTurns: 20, model: null,
  };
  const g = validateGraph(graph);
  return apply(initialContext(spawned), [{ type: 'WorkflowPlanned', data: { source: 'graph', templateId: null, graph: g } }]);
}

const apply = (c: AgentContext, events: readonly DomainEvent[]): AgentContext => events.reduce((x, e) => evolve(x, e), c);
const childIdFor = (n: string, a: number): string => `${n}-${a}`;

interface Outcome {
  readonly status: 'completed' | 'failed';
  readonly spent: number;
}

/**
 * Runs the scheduler against a simulated world: started children finish in the order `pick`
 * chooses, with the outcome `decide` gives. Records what happened for the assertions.
 */
function simulate(c0: AgentContext, decide: (nodeId: string, attempt: number, budget: number) => Outcome, pick: (n: number) => number = () => 0, causes: Record<string, string> = {}) {
  let c = c0;
  const live: Array<{ childId: string; nodeId: string; attempt: number }> = [];
  const started: Array<{ nodeId: string; attempt: number; budget: number; concurrent: number; task: string }> = [];
  for (let i = 0; i < 1000; i++) {
    if (c.result) return { c, started };
    const step = nextStep({ context: c, childIdFor, canEnd: liveChildren(c).length === 0, failureCauses: causes });
    if (step.kind === 'record' || step.kind === 'end') c = apply(c, step.events);
    else if (step.kind === 'start') {
      for (const s of step.starts) {
        expect(s.budget).toBeLessThanOrEqual(available(c.budget));
        // Today's record (ChildSpawned v4 starts the node) and an older one's (v3, then NodeStarted), in turn.
        const merged = i % 2 === 0;
        c = apply(c, [
          { type: 'ChildSpawned', data: { childId: s.childId, role: s.role, task: s.task, budget: s.budget, kind: 'agent', nodeId: s.nodeId, spec: null, delegatesBudget: true, nodeAttempt: merged ? s.attempt : null } },
          ...(merged ? [] : [{ type: 'NodeStarted', data: { nodeId: s.nodeId, childId: s.childId, attempt: s.attempt, budget: s.budget } } as const]),
        ]);
        live.push({ childId: s.childId, nodeId: s.nodeId, attempt: s.attempt });
        started.push({ nodeId: s.nodeId, attempt: s.attempt, budget: s.budget, concurrent: live.length, task: s.task });
      }
    } else if (step.kind === 'wait') {
      expect(live.length).toBeGreaterThan(0);
      const [done] = live.splice(pick(live.length) % live.length, 1);
      const budget = c.children[done!.childId]!.budget;
      const o = decide(done!.nodeId, done!.attempt, budget);
      const spent = Math.min(o.spent, budget);
      // Today's record (ChildFinished v3 completes the node) and an older one's (v2: the step records NodeCompleted), in turn.
      const completesNode = o.status === 'completed' && i % 3 !== 0 ? done!.nodeId : null;
      c = apply(c, [
        { type: 'ChildFinished', data: { childId: done!.childId, status: o.status, output: `${o.status} ${done!.nodeId}#${done!.attempt}`, reclaim: { allocated: budget, returned: budget - spent, spent, overspent: 0 }, completesNode } },
      ]);
    } else throw new Error(`unexpected ${step.kind}`);
  }
  throw new Error('did not end');
}

const ok = (spent = 100): Outcome => ({ status: 'completed', spent });

describe('workflow scheduler', () => {
  it('starts independent nodes together and dependents after them, with the outputs', () => {
    const c0 = workflow({
      nodes: [
        { id: 'design', role: 'architect', task: 'Design', budgetPercent: 20 },
        { id: 'impl', role: 'implementer', task: 'Build', budgetPercent: 30, dependencies: ['design'] },
        { id: 'test', role: 'tester', task: 'Test', budgetPercent: 30, dependencies: ['design'] },
        { id: 'review', role: 'reviewer', task: 'Review', budgetPercent: 10, dependencies: ['impl', 'test'] },
      ],
    });
    const { c, started } = simulate(c0, () => ok());
    expect(started.map((s) => s.nodeId)).toEqual(['design', 'impl', 'test', 'review']);
    expect(started.find((s) => s.nodeId === 'test')!.concurrent).toBe(2);
    expect(started.map((s) => s.budget)).toEqual([2000, 3000, 3000, 1000]);
    const review = started.find((s) => s.nodeId === 'review')!.task;
    expect(review).toContain('--- impl (implementer, completed) ---\ncompleted impl#1');
    expect(review).toContain('--- test (tester, completed) ---\ncompleted test#1');
    expect(review).toContain('Workflow task: Ship it');
    expect(c.result?.status).toBe('completed');
    expect(c.result?.output).toMatch(/^Workflow: 4 of 4 nodes completed\./);
    // Unspent shares came back; the unassigned 10% never left.
    expect(c.budget.allocated).toBe(c.budget.spentBySubtree + available(c.budget));
    expect(c.budget.spentBySubtree).toBe(400);
  });

  it('retries a failed node with a new child, then completes', () => {
    const c0 = workflow({ nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 50, retries: 2 }] });
    const { c, started } = simulate(c0, (_n, attempt) => (attempt === 1 ? { status: 'failed', spent: 1000 } : ok()));
    expect(started.map((s) => `${s.nodeId}#${s.attempt}:${s.budget}`)).toEqual(['a#1:5000', 'a#2:5000']);
    expect(c.nodes.a).toMatchObject({ status: 'completed', attempt: 2, childId: 'a-2' });
    expect(c.result?.status).toBe('completed');
  });

  it('does not retry a node that failed budget_exceeded (its provider reported more than it was given)', () => {
    const c0 = workflow({ nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 50, retries: 2 }] });
    const { c, started } = simulate(c0, () => ({ status: 'failed', spent: 5000 }), () => 0, { 'a-1': 'budget_exceeded' });
    expect(started.map((s) => `${s.nodeId}#${s.attempt}`)).toEqual(['a#1']);
    expect(c.nodes.a).toMatchObject({ status: 'failed', attempt: 1 });
    expect(c.result?.status).toBe('failed');
  });

  it('fails the workflow when a required node fails for good, skipping what had not started', () => {
    const c0 = workflow({
      nodes: [
        { id: 'a', role: 'tester', task: 'A', budgetPercent: 20, retries: 1 },
        { id: 'b', role: 'tester', task: 'B', budgetPercent: 20, dependencies: ['a'] },
        { id: 'side', role: 'writer', task: 'S', budgetPercent: 20 },
      ],
    });
    const { c, started } = simulate(c0, (n) => (n === 'a' ? { status: 'failed', spent: 10 } : ok()), () => 0);
    expect(started.map((s) => `${s.nodeId}#${s.attempt}`)).toEqual(['a#1', 'side#1', 'a#2']);
    expect(c.nodes.b?.status).toBe('skipped');
    expect(c.nodes.side?.status).toBe('completed');
    expect(c.result).toMatchObject({ status: 'failed', cause: 'child_failed' });
    expect(c.result?.reason).toBe('required node a failed; required node b not run');
    expect(c.result?.output).toContain('completed side#1');
  });

  it('continues past an optional node: dependents get partial inputs, or are skipped with no input', () => {
    const c0 = workflow({
      nodes: [
        { id: 'main', role: 'researcher', task: 'M', budgetPercent: 20 },
        { id: 'extra', role: 'researcher', task: 'E', budgetPercent: 20, onFailure: 'continue' },
        { id: 'report', role: 'writer', task: 'R', budgetPercent: 20, dependencies: ['main', 'extra'] },
        { id: 'appendix', role: 'writer', task: 'X', budgetPercent: 20, dependencies: ['extra'], onFailure: 'continue' },
      ],
    });
    const { c, started } = simulate(c0, (n) => (n === 'extra' ? { status: 'failed', spent: 5 } : ok()));
    const report = started.find((s) => s.nodeId === 'report')!.task;
    expect(report).toContain('--- extra (researcher, failed, partial result) ---\nfailed extra#1');
    expect(c.nodes.appendix?.status).toBe('skipped');
    expect(c.result?.status).toBe('completed');
    const p = progressOf(c, 'completed');
    expect(p.nodes.map((n) => `${n.id}:${n.status}`)).toEqual(['main:completed', 'extra:failed', 'report:completed', 'appendix:skipped']);
  });

  it('adopts a child spawned before a crash instead of spawning another', () => {
    let c = workflow({ nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 40 }] });
    const first = nextStep({ context: c, childIdFor, canEnd: true });
    expect(first.kind).toBe('start');
    const s = (first as Extract<typeof first, { kind: 'start' }>).starts[0]!;
    c = apply(c, [
      { type: 'ChildSpawned', data: { childId: s.childId, role: s.role, task: s.task, budget: s.budget, kind: 'agent', nodeId: 'a', spec: null, delegatesBudget: true, nodeAttempt: null } },
    ]);
    // An older record (ChildSpawned v3), its NodeStarted not recorded: the child is adopted.
    const again = nextStep({ context: c, childIdFor, canEnd: false });
    expect(again).toEqual({ kind: 'start', starts: [{ ...s, spawned: true }] });
  });

  it('gives every node its task with dependency outputs cut to fit', () => {
    let c = workflow({ nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 10 }, { id: 'b', role: 'tester', task: 'B', budgetPercent: 10, dependencies: ['a'] }] });
    c = apply(c, [
      { type: 'NodeStarted', data: { nodeId: 'a', childId: 'a-1', attempt: 1, budget: 1 } },
      { type: 'NodeCompleted', data: { nodeId: 'a', childId: 'a-1', output: 'x'.repeat(200_000) } },
    ]);
    const task = nodeTask(c, validateGraph(c.plan!.graph), validateGraph(c.plan!.graph).nodes[1]!);
    expect(task.length).toBeLessThan(100_000);
    expect(task).toContain('[truncated]');
  });

  it('property: any DAG and any outcomes end, respect dependencies, retries and budgets', () => {
    const arbGraph = fc.integer({ min: 1, max: 7 }).chain((n) =>
      fc.tuple(
        ...Array.from({ length: n }, (_, i) =>
          fc.record({
            deps: fc.subarray(Array.from({ length: i }, (_, j) => `n${j}`)),
            percent: fc.integer({ min: 0, max: Math.floor(100 / n) }),
            retries: fc.integer({ min: 0, max: 2 }),
            optional: fc.boolean(),
          }),
        ),
      ),
    );
    fc.assert(
      fc.property(arbGraph, fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }), fc.array(fc.nat(), { minLength: 30, maxLength: 30 }), fc.integer({ min: 0, max: 50_000 }), (spec, fails, picks, budget) => {
        const graph = { nodes: spec.map((s, i) => ({ id: `n${i}`, role: 'tester', task: `t${i}`, budgetPercent: s.percent, dependencies: s.deps, retries: s.retries, onFailure: s.optional ? ('continue' as const) : ('fail' as const) })) };
        let k = 0;
        let p = 0;
        const { c, started } = simulate(workflow(graph, budget), (_n, _a, b) => ({ status: fails[k++ % fails.length] ? 'failed' : 'completed', spent: Math.floor(b / 2) }), () => picks[p++ % picks.length]!);
        expect(c.result).not.toBeNull();
        const byId = new Map(graph.nodes.map((n) => [n.id, n]));
        for (const n of graph.nodes) {
          const attempts = started.filter((s) => s.nodeId === n.id);
          expect(attempts.length).toBeLessThanOrEqual(n.retries + 1);
          expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
        }
        // A started node's dependencies were all terminal before it started.
        for (const s of started) for (const d of byId.get(s.nodeId)!.dependencies) {
          expect(started.findIndex((x) => x.nodeId === d)).toBeLessThan(started.indexOf(s));
        }
        const required = graph.nodes.filter((n) => n.onFailure === 'fail');
        const allRequiredDone = required.every((n) => c.nodes[n.id]?.status === 'completed');
        expect(c.result!.status).toBe(allRequiredDone ? 'completed' : 'failed');
        expect(c.budget.delegated).toBe(0);
        expect(c.budget.allocated).toBe(c.budget.spentBySubtree + available(c.budget));
        // No node's attempts together spent more than its share plus the unassigned remainder.
        expect(c.budget.spentBySubtree).toBeLessThanOrEqual(budget);
      }),
      { numRuns: 200 },
    );
  });
});
