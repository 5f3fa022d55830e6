import { describe, expect, it } from 'vitest';
import { editDistance, nearestName } from '../../src/nearestName.js';

describe('nearestName', () => {
  it('suggests the known name one or two typos away, ignoring case', () => {
    expect(nearestName('BudgetSetled', ['BudgetReserved', 'BudgetSettled', 'AgentSpawned'])).toBe('BudgetSettled');
    expect(nearestName('tdd-workflw', ['backend-dev-workflow', 'tdd-workflow'])).toBe('tdd-workflow');
    expect(nearestName('modelreplied', ['ModelReplied'])).toBe('ModelReplied');
    expect(nearestName('ModleReplied', ['ModelReplied'])).toBe('ModelReplied'); // two letters swapped: one edit
  });

  it('suggests nothing for a name that is no typo of any known one', () => {
    expect(nearestName('xyz', ['tdd-workflow'])).toBeUndefined();
    expect(nearestName('Frobnicated', ['BudgetSettled', 'ModelReplied'])).toBeUndefined();
    expect(nearestName('a', [])).toBeUndefined();
  });

  it('counts edits: insertions, deletions, substitutions and adjacent swaps', () => {
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('same', 'same')).toBe(0);
  });
});
