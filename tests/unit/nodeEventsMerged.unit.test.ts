import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../src/events/upcast.js';
import { eventSchemas, type DomainEvent, type EventData } from '../../src/events/catalogue.js';
import { InvalidInput } from '../../src/errors.js';
import { evolve, initialContext, type AgentContext } from '../../src/actors/agentContext.js';
import { agentMachine } from '../../src/actors/agentMachine.js';
import { pureTransition } from '../../src/actors/pureTransition.js';
import { childSpawned, resolveSpec } from '../../src/actors/spawnSpec.js';
import { SpawnConfigSchema } from '../../src/actors/spawnConfig.js';
import { validateGraph } from '../../src/workflows/graph.js';
import { nextStep } from '../../src/workflows/scheduler.js';
import { progressOf } from '../../src/workflows/progress.js';
import { recordedEvent } from '../support/events.js';
import { initialTransition } from 'xstate';

/**
 * ChildSpawned v4 starts a workflow node (nodeAttempt) and ChildFinished v3 completes one
 * (completesNode): the NodeStarted and NodeCompleted that always travelled beside them are no
 * longer written. Older records read as starting and completing nothing: the node events after
 * them still do.
 */

const defaults = { defaultTimeoutMs: 600_000, defaultMaxTurns: 20 };
const graph = validateGraph({
  nodes: [
    { id: 'design', role: 'architect', task: 'Design', budgetPercent: 40 },
    { id: 'build', role: 'implementer', task: 'Build', budgetPercent: 40, dependencies: ['design'] },
  ],
});
const spawnedWorkflow: EventData<'AgentSpawned'> = {
  agentId: 'wf', parentId: null, rootId: 'wf', depth: 0, kind: 'workflow', role: 'workflow', task: 'Ship it', budget: 10_000, workspace: null, timeoutMs: null, maxTurns: 20, model: null, graph,
};
const planned = (): AgentContext => evolve(initialContext(spawnedWorkflow), { type: 'WorkflowPlanned', data: { source: 'graph', templateId: null, graph } });

/** A node child's ChildSpawned as today's code writes it (v4, starting attempt `attempt`). */
const spawnOf = (nodeId: string, childId: string, attempt: number, budget: number): EventData<'ChildSpawned'> =>
  childSpawned(childId, resolveSpec(SpawnConfigSchema.parse({ role: 'coder', task: `do ${nodeId}`, budget }), planned(), defaults, { nodeId }), undefined, attempt);

describe('ChildSpawned v3 → v4 (the spawn starts the node; NodeStarted no longer written)', () => {
  const recorded = (schemaVersion: number, data: unknown) => recordedEvent('ChildSpawned', schemaVersion, data);

  it('is at version 4 in the catalogue; the spawn builder starts a node only for a node child', () => {
    expect(eventSchemas.ChildSpawned.version).toBe(4);
    expect(spawnOf('design', 'k1', 2, 100).nodeAttempt).toBe(2);
    expect(childSpawned('k2', resolveSpec(SpawnConfigSchema.parse({ role: 'r', task: 't', budget: 5 }), planned(), defaults, {}), undefined, 1).nodeAttempt).toBe(null);
  });

  it('reads a stored v3 event as starting no node: the NodeStarted after it starts it, to the same state as v4 alone', () => {
    const { nodeAttempt: _v4, ...v3 } = spawnOf('design', 'k1', 1, 4000);
    const e = parseRecorded(recorded(3, v3));
    expect(e.data).toEqual({ ...v3, nodeAttempt: null });
    const spawned = evolve(planned(), e);
    expect(spawned.nodes.design).toBeUndefined();
    const started = evolve(spawned, { type: 'NodeStarted', data: { nodeId: 'design', childId: 'k1', attempt: 1, budget: 4000 } });
    expect(started.nodes.design).toEqual({ status: 'running', childId: 'k1', attempt: 1, output: null });
    expect(evolve(planned(), parseRecorded(recorded(4, spawnOf('design', 'k1', 1, 4000))))).toEqual(started);
  });

  it('a v4 event without nodeAttempt is refused, naming the field; one starting a node it does not name too', () => {
    const { nodeAttempt: _v4, ...without } = spawnOf('design', 'k1', 1, 4000);
    expect(() => parseRecorded(recorded(4, without))).toThrow(InvalidInput);
    expect(() => parseRecorded(recorded(4, without))).toThrow(/nodeAttempt/);
    const { nodeId: _n, ...unnamed } = spawnOf('design', 'k1', 1, 4000);
    expect(() => parseRecorded(recorded(4, unnamed))).toThrow(/nodeId/);
  });
});

describe('ChildFinished v2 → v3 (the end completes the node; NodeCompleted no longer written)', () => {
  const recorded = (schemaVersion: number, data: unknown) => recordedEvent('ChildFinished', schemaVersion, data);
  const running = (): AgentContext => evolve(planned(), { type: 'ChildSpawned', data: spawnOf('design', 'k1', 1, 4000) });
  const reclaim = { allocated: 4000, returned: 3000, spent: 1000, overspent: 0 };

  it('is at version 3 in the catalogue', () => {
    expect(eventSchemas.ChildFinished.version).toBe(3);
  });

  it('reads a stored v2 event as completing no node: the NodeCompleted after it completes it, to the same state as v3 alone', () => {
    const e = parseRecorded(recorded(2, { childId: 'k1', status: 'completed', output: 'the design', reclaim }));
    expect(e.data).toEqual({ childId: 'k1', status: 'completed', output: 'the design', reclaim, completesNode: null });
    const ended = evolve(running(), e);
    expect(ended.nodes.design!.status).toBe('running');
    const completed = evolve(ended, { type: 'NodeCompleted', data: { nodeId: 'design', childId: 'k1', output: 'the design' } });
    expect(completed.nodes.design).toEqual({ status: 'completed', childId: 'k1', attempt: 1, output: 'the design' });
    const v3 = parseRecorded(recorded(3, { childId: 'k1', status: 'completed', output: 'the design', reclaim, completesNode: 'design' }));
    expect(evolve(running(), v3)).toEqual(completed);
  });

  it('a null output completes the node with "" (what NodeCompleted said); a v3 event without completesNode is refused, naming the field', () => {
    const v3 = parseRecorded(recorded(3, { childId: 'k1', status: 'completed', output: null, reclaim, completesNode: 'design' }));
    expect(evolve(running(), v3).nodes.design).toMatchObject({ status: 'completed', output: '' });
    expect(() => parseRecorded(recorded(3, { childId: 'k1', status: 'completed', output: 'x', reclaim }))).toThrow(/completesNode/);
  });
});

describe('an old workflow stream and a new one', () => {
  const reclaimOf = (budget: number) => ({ allocated: budget, returned: budget - 10, spent: 10, overspent: 0 });
  const finished = (childId: string, budget: number, output: string, completesNode: string | null): DomainEvent => ({ type: 'ChildFinished', data: { childId, status: 'completed', output, reclaim: reclaimOf(budget), completesNode } });

  /** Runs both nodes through the scheduler, writing each step either as older code did (pairs) or as today's does (one event). */
  function run(merged: boolean): { events: DomainEvent[]; steps: string[] } {
    let [s] = initialTransition(agentMachine, spawnedWorkflow);
    const events: DomainEvent[] = [];
    const steps: string[] = [];
    const record = (...es: DomainEvent[]): void => {
      for (const e of es) {
        expect(s.can(e)).toBe(true);
        s = pureTransition(agentMachine, s, e)[0];
        events.push(e);
      }
    };
    record({ type: 'WorkflowPlanned', data: { source: 'graph', templateId: null, graph } }, { type: 'AgentRunRequested', data: {} }, { type: 'AgentStarted', data: { deadline: null } });
    for (let i = 0; i < 20 && !s.context.result; i++) {
      const step = nextStep({ context: s.context, childIdFor: (n, a) => `${n}-${a}`, canEnd: s.context.budget.reserved === 0 && Object.values(s.context.children).every((c) => c.status !== 'live') });
      steps.push(step.kind);
      if (step.kind === 'record' || step.kind === 'end') record(...step.events);
      else if (step.kind === 'start') {
        for (const st of step.starts) {
          const data = spawnOf(st.nodeId, st.childId, st.attempt, st.budget);
          if (merged) record({ type: 'ChildSpawned', data });
          else record({ type: 'ChildSpawned', data: { ...data, nodeAttempt: null } }, { type: 'NodeStarted', data: { nodeId: st.nodeId, childId: st.childId, attempt: st.attempt, budget: st.budget } });
        }
      } else if (step.kind === 'wait') {
        const [childId, child] = Object.entries(s.context.children).find(([, c]) => c.status === 'live')!;
        const out = `${child.nodeId} done`;
        if (merged) record(finished(childId, child.budget, out, child.nodeId));
        else record(finished(childId, child.budget, out, null), { type: 'NodeCompleted', data: { nodeId: child.nodeId!, childId, output: out } });
      } else throw new Error(step.kind);
    }
    expect(s.context.result?.status).toBe('completed');
    return { events, steps };
  }

  it('reach the same workflow state, progress and output, with two events fewer per node', () => {
    const old = run(false);
    const now = run(true);
    const replay = (events: readonly DomainEvent[]) => events.reduce((acc, e) => pureTransition(agentMachine, acc, e)[0], initialTransition(agentMachine, spawnedWorkflow)[0]);
    const a = replay(old.events);
    const b = replay(now.events);
    expect(b.value).toEqual(a.value);
    expect(b.context).toEqual(a.context);
    expect(progressOf(b.context, 'completed')).toEqual(progressOf(a.context, 'completed'));
    expect(now.steps).toEqual(old.steps);
    expect(old.events.length - now.events.length).toBe(4);
    expect(now.events.some((e) => e.type === 'NodeStarted' || e.type === 'NodeCompleted')).toBe(false);
  });
});
