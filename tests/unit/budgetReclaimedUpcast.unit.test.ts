import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../src/events/upcast.js';
import { eventSchemas } from '../../src/events/catalogue.js';
import { InvalidInput } from '../../src/errors.js';
import { evolve, initialContext } from '../../src/actors/agentContext.js';
import { budgetStatus } from '../../src/actors/budget.js';
import { recordedEvent } from '../support/events.js';

const recorded = (schemaVersion: number, data: unknown) => recordedEvent('BudgetReclaimed', schemaVersion, data);

describe('BudgetReclaimed v1 → v2 (overspent added)', () => {
  it('is at version 2 in the catalogue', () => {
    expect(eventSchemas.BudgetReclaimed.version).toBe(2);
  });

  it('reads a v1 event (the shape recorded before overspends existed) with overspent 0, and folds it as before', () => {
    const e = parseRecorded(recorded(1, { childId: 'c1', allocated: 1000, returned: 400, spent: 600 }));
    expect(e.data).toEqual({ childId: 'c1', allocated: 1000, returned: 400, spent: 600, overspent: 0 });
    let c = initialContext({ agentId: 'root', parentId: null, rootId: 'root', depth: 0, kind: 'agent', role: 'lead', task: 't', budget: 5000, workspace: null, timeoutMs: null, maxTurns: 5, model: null });
    c = evolve(c, { type: 'BudgetDelegated', data: { childId: 'c1', amount: 1000 } });
    c = evolve(c, e);
    expect(budgetStatus(c.budget)).toMatchObject({ spentBySubtree: 600, reclaimed: 400, available: 4400, overspent: 0 });
  });

  it('keeps a v2 event\'s overspent, and refuses a v2 event without one, naming the field', () => {
    expect(parseRecorded(recorded(2, { childId: 'c1', allocated: 1000, returned: 0, spent: 1500, overspent: 500 })).data).toMatchObject({ overspent: 500 });
    expect(() => parseRecorded(recorded(2, { childId: 'c1', allocated: 1000, returned: 0, spent: 1000 }))).toThrow(InvalidInput);
    expect(() => parseRecorded(recorded(2, { childId: 'c1', allocated: 1000, returned: 0, spent: 1000 }))).toThrow(/overspent/);
  });
});

describe('ChildFinished v1 → v2 (the end returns the budget; BudgetReclaimed no longer written)', () => {
  const finished = (schemaVersion: number, data: unknown) => recordedEvent('ChildFinished', schemaVersion, data);
  const parent = () => {
    const c = initialContext({ agentId: 'root', parentId: null, rootId: 'root', depth: 0, kind: 'agent', role: 'lead', task: 't', budget: 5000, workspace: null, timeoutMs: null, maxTurns: 5, model: null });
    return evolve(c, { type: 'ChildSpawned', data: { childId: 'c1', role: 'w', task: 't', budget: 1000, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null } });
  };

  it('is at version 2 or later in the catalogue', () => {
    expect(eventSchemas.ChildFinished.version).toBeGreaterThanOrEqual(2);
  });

  it('reads a v1 event as returning nothing itself: the BudgetReclaimed after it does, once', () => {
    const e = parseRecorded(finished(1, { childId: 'c1', status: 'completed', output: 'done' }));
    expect(e.data).toEqual({ childId: 'c1', status: 'completed', output: 'done', reclaim: null, completesNode: null });
    const ended = evolve(parent(), e);
    expect(ended.children.c1!.status).toBe('completed');
    expect(budgetStatus(ended.budget)).toMatchObject({ delegated: 1000, reclaimed: 0 });
    const reclaimed = evolve(ended, parseRecorded(recorded(2, { childId: 'c1', allocated: 1000, returned: 400, spent: 600, overspent: 0 })));
    const v2 = evolve(parent(), parseRecorded(finished(2, { childId: 'c1', status: 'completed', output: 'done', reclaim: { allocated: 1000, returned: 400, spent: 600, overspent: 0 } })));
    expect(v2.budget).toEqual(reclaimed.budget);
    expect(budgetStatus(v2.budget)).toMatchObject({ delegated: 0, spentBySubtree: 600, reclaimed: 400, available: 4400 });
  });

  it('refuses a v2 event without reclaim, naming the field', () => {
    expect(() => parseRecorded(finished(2, { childId: 'c1', status: 'completed', output: 'done' }))).toThrow(/reclaim/);
  });
});
