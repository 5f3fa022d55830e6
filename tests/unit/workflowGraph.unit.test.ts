import { describe, expect, it } from 'vitest';
import { InvalidGraph, InvalidInput } from '../../src/errors.js';
import { findCycle, topologicalOrder, validateGraph } from '../../src/workflows/graph.js';
import { BUILTIN_ROLES, knownRoles } from '../../src/workflows/roles.js';
import { parseTemplate, TemplateRegistry } from '../../src/workflows/templates.js';

const roles = [...BUILTIN_ROLES];
const node = (id: string, dependencies: string[] = [], extra: Record<string, unknown> = {}) => ({ id, role: 'implementer', task: `do ${id}`, budgetPercent: 10, dependencies, ...extra });

function problemsOf(graph: unknown): string[] {
  try {
    validateGraph(graph, { roles });
  } catch (err) {
    if (err instanceof InvalidGraph) return [...err.problems];
    throw err;
  }
  return [];
}

describe('workflow graph validation', () => {
  it("refuses a node id every JavaScript object has (a plan's `constructor` node stuck the workflow), and bounds what it reports", () => {
    for (const id of ['constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
      expect(() => validateGraph({ nodes: [node(id)] }, { roles }), id).toThrow(/nodes\[0\]\.id.*every JavaScript object has/);
    }
    expect(() => validateGraph({ nodes: [node('a', ['x'.repeat(10_000)])] }, { roles })).toThrow(/nodes\[0\]\.dependencies\[0\]/);
    const many = Array.from({ length: 12 }, (_, i) => node(`n${i}`, Array.from({ length: 100 }, (_, k) => `missing${k}`)));
    const p = problemsOf({ nodes: many });
    expect(p).toHaveLength(21);
    expect(p[20]).toBe('… and 1181 more problems'); // 1,200 unknown dependencies and a percent sum over 100
    expect(p.join('\n').length).toBeLessThan(4_000);
  });

  it('accepts a valid graph and fills defaults', () => {
    const g = validateGraph({ nodes: [node('a'), node('b', ['a'])] }, { roles });
    expect(g.nodes[0]).toMatchObject({ retries: 0, onFailure: 'fail', dependencies: [] });
    expect(topologicalOrder(g)).toEqual(['a', 'b']);
  });

  it('reports a cycle as a path', () => {
    const p = problemsOf({ nodes: [node('a', ['c']), node('b', ['a']), node('c', ['b'])] });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/graph\.nodes\[\*\]\.dependencies: dependency cycle a -> b -> c -> a/);
    expect(findCycle([{ id: 'x', dependencies: ['y'] }, { id: 'y', dependencies: ['x'] }])).toEqual(['x', 'y', 'x']);
  });

  it('names the node and field of each problem', () => {
    const p = problemsOf({
      nodes: [node('a'), node('a'), node('b', ['zzz']), node('c', ['c']), { ...node('d'), role: 'wizard' }, node('e', ['a', 'a', 'a'])],
    });
    expect(p).toEqual([
      'graph.nodes[1].id: duplicate node id "a"',
      'graph.nodes[2].dependencies: node "b" depends on unknown node "zzz"',
      'graph.nodes[3].dependencies: node "c" depends on itself',
      expect.stringMatching(/^graph\.nodes\[4\]\.role: node "d" has unknown role "wizard" \(known: architect, /),
      // Once, however often it repeats (three times said it twice, word for word).
      'graph.nodes[5].dependencies: node "e" lists "a" more than once',
    ]);
  });

  it('refuses percents over 100 in sum and out of range', () => {
    expect(problemsOf({ nodes: [node('a', [], { budgetPercent: 60 }), node('b', [], { budgetPercent: 50 })] })).toEqual([
      'graph.nodes[*].budgetPercent: percents sum to 110, over 100',
    ]);
    expect(problemsOf({ nodes: [node('a', [], { budgetPercent: 33.3 }), node('b', [], { budgetPercent: 33.3 }), node('c', [], { budgetPercent: 33.4 })] })).toEqual([]);
    const err = (() => {
      try {
        validateGraph({ nodes: [node('a', [], { budgetPercent: 120 })] });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).field).toBe('graph.nodes[0].budgetPercent');
  });

  it('refuses malformed shapes with InvalidInput naming the field', () => {
    expect(() => validateGraph({ nodes: [] })).toThrow(InvalidInput);
    expect(() => validateGraph({ nodes: [{ ...node('a'), onFailure: 'ignore' }] })).toThrow(/graph\.nodes\[0\]\.onFailure/);
    expect(() => validateGraph({ nodes: [{ ...node('a'), extra: 1 }] })).toThrow(/graph\.nodes\[0\]/);
    expect(() => validateGraph('nope')).toThrow(InvalidInput);
  });

  it('knows built-in roles plus template roles', () => {
    expect(knownRoles()).toEqual(roles);
    const t = parseTemplate({ id: 'sec', name: 'Security', nodes: [{ id: 'audit', role: 'security-auditor', task: 'audit', budgetPercent: 50 }] }, 'sec.json', 'user');
    const reg = new TemplateRegistry([t]);
    expect(reg.roles()).toContain('security-auditor');
    expect(() => validateGraph({ nodes: [{ ...node('x'), role: 'security-auditor' }] }, { roles: reg.roles() })).not.toThrow();
  });
});

describe('template parsing', () => {
  it("accepts the seed's shape: nodes named by role, dependencies by role, no tasks", () => {
    const seed = {
      id: 'tdd-workflow',
      name: 'Test-Driven Development',
      nodes: [
        { role: 'architect', budgetPercent: 15, dependencies: [] },
        { role: 'tester', budgetPercent: 25, dependencies: ['architect'] },
        { role: 'implementer', budgetPercent: 40, dependencies: ['tester'] },
        { role: 'reviewer', budgetPercent: 20, dependencies: ['implementer'] },
      ],
    };
    const t = parseTemplate(seed, 'seed.json', 'user');
    expect(t.nodes.map((n) => [n.id, n.dependencies])).toEqual([['architect', []], ['tester', ['architect']], ['implementer', ['tester']], ['reviewer', ['implementer']]]);
    expect(t.nodes[1]!.task).toBe("Do the tester's part of the workflow's task.");
    expect(topologicalOrder({ nodes: t.nodes })).toEqual(['architect', 'tester', 'implementer', 'reviewer']);
    // The same shape as a graph, and a role used twice without ids: told to add them.
    expect(validateGraph({ nodes: seed.nodes }, { roles }).nodes).toHaveLength(4);
    const twice = problemsOf({ nodes: [{ role: 'tester', budgetPercent: 10 }, { role: 'tester', budgetPercent: 10 }] });
    expect(twice).toEqual([expect.stringMatching(/^graph\.nodes\[1\]\.id: duplicate node id "tester" \(a node without an id takes its role as id: give each an "id"\)/)]);
  });

  it('names the file and the field of a bad template', () => {
    const bad = { id: 'x', name: 'X', nodes: [{ id: 'a', role: 'tester', task: 't', budgetPercent: 'ten' }] };
    expect(() => parseTemplate(bad, 'user/x.json', 'user')).toThrow(/invalid user\/x\.json: nodes\[0\]\.budgetPercent/);
    const cyclic = { id: 'x', name: 'X', nodes: [node('a', ['b']), node('b', ['a'])] };
    expect(() => parseTemplate(cyclic, 'user/x.json', 'user')).toThrow(/user\/x\.json: nodes\[\*\]\.dependencies: dependency cycle/);
    expect(() => parseTemplate({ id: 'Bad Id', name: 'X', nodes: [node('a')] }, 'y.json', 'user')).toThrow(/y\.json: id/);
  });

  it('lets later templates replace earlier ones with the same id', () => {
    const a = parseTemplate({ id: 'same', name: 'A', nodes: [node('a')] }, 'a.json', 'builtin');
    const b = parseTemplate({ id: 'same', name: 'B', nodes: [node('b')] }, 'b.json', 'user');
    const reg = new TemplateRegistry([a, b]);
    expect(reg.get('same').name).toBe('B');
    expect(() => reg.get('missing')).toThrow(/workflow template missing not found/);
  });

  it('finds a template whatever the case of its id (the seed writes TDD-workflow)', () => {
    const t = parseTemplate({ id: 'tdd-workflow', name: 'TDD', nodes: [node('a')] }, 't.json', 'builtin');
    const reg = new TemplateRegistry([t]);
    for (const id of ['tdd-workflow', 'TDD-workflow', 'TDD-WORKFLOW']) expect(reg.get(id).id, id).toBe('tdd-workflow');
    expect(reg.find('Tdd-Workflow')?.name).toBe('TDD');
  });
});
