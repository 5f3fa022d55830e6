import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../src/events/upcast.js';
import { eventSchemas, type DomainEvent } from '../../src/events/catalogue.js';
import { InvalidInput } from '../../src/errors.js';
import { evolve, initialContext } from '../../src/actors/agentContext.js';
import { agentSpawned, childSpawned, recordedSpec, resolveSpec } from '../../src/actors/spawnSpec.js';
import { SpawnConfigSchema } from '../../src/actors/spawnConfig.js';
import { recordedEvent } from '../support/events.js';

const recorded = (schemaVersion: number, data: unknown) => recordedEvent('ChildSpawned', schemaVersion, data);

const defaults = { defaultTimeoutMs: 600_000, defaultMaxTurns: 20 };
const root = initialContext({ agentId: 'root', parentId: null, rootId: 'root', depth: 0, kind: 'agent', role: 'lead', task: 't', budget: 50_000, workspace: null, timeoutMs: null, maxTurns: 5, model: 'root-model' });

describe('ChildSpawned v1 → v2 (the child spec added)', () => {

  it('reads a stored v1 event (no spec) with spec null; a child reopened from it gets what reopening gave before v2', () => {
    const v1 = { childId: 'c1', role: 'coder', task: 'part a', budget: 10_000, kind: 'agent', nodeId: 'n1' };
    const e = parseRecorded(recorded(1, v1));
    expect(e.data).toEqual({ ...v1, spec: null, delegatesBudget: false, nodeAttempt: null });
    const parent = evolve(root, { type: e.type, data: e.data } as DomainEvent);
    expect(parent.children.c1).toMatchObject({ role: 'coder', spec: null });
    const reopened = agentSpawned('c1', parent, recordedSpec(parent, 'c1', defaults)!);
    expect(reopened).toEqual({
      agentId: 'c1', parentId: 'root', rootId: 'root', depth: 1, kind: 'agent', role: 'coder', task: 'part a', budget: 10_000,
      workspace: null, timeoutMs: 600_000, maxTurns: 20, model: 'root-model', nodeId: 'n1',
    });
  });

  it('a v2 record reopens the child exactly as it was first opened; a v2 event without a spec is refused, naming the field', () => {
    const config = SpawnConfigSchema.parse({ role: 'coder', task: 'part b', budget: 8_000, timeoutMs: 90_000, maxTurns: 3, model: 'child-model' });
    const spec = resolveSpec(config, root, defaults, { nodeId: 'n2' });
    const data = childSpawned('c2', spec, 'tool-1');
    expect(parseRecorded(recorded(3, data)).data).toEqual(data);
    const parent = evolve(root, { type: 'ChildSpawned', data });
    expect(agentSpawned('c2', parent, recordedSpec(parent, 'c2', defaults)!)).toEqual(agentSpawned('c2', root, spec));
    expect(agentSpawned('c2', root, spec)).toMatchObject({ timeoutMs: 90_000, maxTurns: 3, model: 'child-model', workspace: null, nodeId: 'n2', depth: 1 });
    const { spec: _none, ...withoutSpec } = data;
    expect(() => parseRecorded(recorded(2, withoutSpec))).toThrow(InvalidInput);
    expect(() => parseRecorded(recorded(2, withoutSpec))).toThrow(/spec/);
  });
});

describe('ChildSpawned v2 → v3 (the spawn delegates the budget; BudgetDelegated no longer written)', () => {
  it('is at version 3 or later in the catalogue, and the spawn builder delegates', () => {
    expect(eventSchemas.ChildSpawned.version).toBeGreaterThanOrEqual(3);
    expect(childSpawned('c', resolveSpec(SpawnConfigSchema.parse({ role: 'r', task: 't', budget: 5 }), root, defaults, {}), undefined).delegatesBudget).toBe(true);
  });

  it('reads a stored v2 event as not delegating: its BudgetDelegated, after it, hands the budget over, once', () => {
    const { delegatesBudget: _v3, ...v2 } = childSpawned('c3', resolveSpec(SpawnConfigSchema.parse({ role: 'coder', task: 'x', budget: 7_000 }), root, defaults, {}), 'tool-2');
    const e = parseRecorded(recorded(2, v2));
    expect(e.data).toEqual({ ...v2, delegatesBudget: false, nodeAttempt: null });
    const spawned = evolve(root, { type: e.type, data: e.data } as DomainEvent);
    expect(spawned.budget.delegated).toBe(0);
    const delegated = evolve(spawned, { type: 'BudgetDelegated', data: { childId: 'c3', amount: 7_000 } });
    expect(delegated.budget).toEqual(evolve(root, { type: 'ChildSpawned', data: { ...v2, delegatesBudget: true } }).budget);
    expect(delegated.budget.delegated).toBe(7_000);
  });

  it('a v3 event without delegatesBudget is refused, naming the field', () => {
    const { delegatesBudget: _v3, ...without } = childSpawned('c4', resolveSpec(SpawnConfigSchema.parse({ role: 'r', task: 't', budget: 5 }), root, defaults, {}));
    expect(() => parseRecorded(recorded(3, without))).toThrow(/delegatesBudget/);
  });
});
