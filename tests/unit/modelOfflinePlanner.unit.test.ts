import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidGraph, InvalidInput } from '../../src/errors.js';
import {
  MAX_PLAN_NODES,
  SUBMIT_PLAN_TOOL,
  buildDecompositionRequest,
  parsePlanToolInput,
  readDecompositionRequest,
} from '../../src/infra/model/decompositionRequest.js';
import type { Plan } from '../../src/infra/model/decompositionRequest.js';
import { NODE_TASK_MAX, planFromTask } from '../../src/infra/model/offlinePlanner.js';

const ROLES = ['architect', 'implementer', 'tester', 'reviewer'];
const deps = (plan: Plan): Record<string, readonly string[]> => Object.fromEntries(plan.nodes.map((n) => [n.id, n.dependencies]));

describe('offline planner', () => {
  it('chains sequential steps and fans out/in around parallel ones', () => {
    const plan = planFromTask('Design the API, then implement the server and write tests for it. Review everything.', ROLES);
    expect(plan.nodes.map((n) => [n.id, n.role, n.task])).toEqual([
      ['architect-1', 'architect', 'Design the API'],
      ['implementer-2', 'implementer', 'implement the server'],
      ['tester-3', 'tester', 'write tests for it'],
      ['reviewer-4', 'reviewer', 'Review everything'],
    ]);
    expect(deps(plan)).toEqual({
      'architect-1': [],
      'implementer-2': ['architect-1'],
      'tester-3': ['architect-1'],
      'reviewer-4': ['implementer-2', 'tester-3'],
    });
    expect(plan.nodes.every((n) => n.budgetPercent === 22)).toBe(true);
  });

  it('orders steps by first/next/finally, before and after <doing>', () => {
    const chain = (task: string) => planFromTask(task, ROLES).nodes.map((n) => [n.role, n.task, n.dependencies.length]);
    expect(chain('First design the schema, next implement the store, and finally review the code')).toEqual([
      ['architect', 'design the schema', 0],
      ['implementer', 'implement the store', 1],
      ['reviewer', 'review the code', 1],
    ]);
    expect(chain('Write tests for the parser before implementing it')).toEqual([['tester', 'Write tests for the parser', 0], ['implementer', 'implementing it', 1]]);
    expect(chain('Review the change after writing tests for it')).toEqual([['tester', 'writing tests for it', 0], ['reviewer', 'Review the change', 1]]);
    expect(chain('After testing the build, deploy the service')).toEqual([['tester', 'testing the build', 0], ['implementer', 'deploy the service', 1]]);
    expect(chain('Before writing the parser, write the tests')).toEqual([['tester', 'write the tests', 0], ['implementer', 'writing the parser', 1]]);
    expect(chain('First, design the API; next, implement it; finally, write the docs')).toEqual([
      ['architect', 'design the API', 0],
      ['implementer', 'implement it', 1],
      ['implementer', 'write the docs', 1],
    ]);
    // Not a step: a condition, and "next" or "finally" inside a phrase.
    expect(chain('Deploy it after the build is green')).toEqual([['implementer', 'Deploy it after the build is green', 0]]);
    expect(chain('Implement the next feature and finally fix the bug')).toEqual([['implementer', 'Implement the next feature', 0], ['implementer', 'fix the bug', 1]]);
    // The order holds through a chain of nodes: each depends on the one before.
    const plan = planFromTask('Design the API, afterwards build it, lastly test it', ROLES);
    expect(deps(plan)).toEqual({ 'architect-1': [], 'implementer-2': ['architect-1'], 'tester-3': ['implementer-2'] });
  });

  it(`keeps each node's task within ${NODE_TASK_MAX} characters, so a long task's plan fits the planning call`, () => {
    const long = 'Build the parser and write tests. '.repeat(2_900); // 98,600 characters: 2,900 steps
    const plan = planFromTask(long, ROLES);
    expect(plan.nodes).toHaveLength(MAX_PLAN_NODES);
    for (const n of plan.nodes) expect(n.task.length, n.id).toBeLessThanOrEqual(NODE_TASK_MAX);
    expect(plan.nodes.at(-1)!.task).toMatch(/… \(cut here: the rest is in the workflow task\)$/);
    expect(JSON.stringify(plan).length).toBeLessThan(40_000); // was ~100,000: past max_tokens
    const oneSentence = 'x'.repeat(50_000);
    expect(planFromTask(oneSentence, ROLES).nodes[0]!.task.length).toBeLessThanOrEqual(NODE_TASK_MAX);
  });

  it('does not split "design and implement X" (a one-word half)', () => {
    const plan = planFromTask('Design and implement a rate limiter', ROLES);
    expect(plan.nodes).toEqual([{ id: 'architect-1', role: 'architect', task: 'Design and implement a rate limiter', budgetPercent: 90, dependencies: [] }]);
  });

  it('falls back to implementer, then to the first allowed role', () => {
    expect(planFromTask('Test the parser', ['implementer']).nodes[0]!.role).toBe('implementer');
    expect(planFromTask('Test the parser', ['writer']).nodes[0]).toMatchObject({ role: 'writer', id: 'writer-1' });
    expect(() => planFromTask('x', [])).toThrow(InvalidInput);
  });

  it(`folds steps beyond ${MAX_PLAN_NODES} into the last node`, () => {
    const task = Array.from({ length: 20 }, (_, i) => `Build part ${i + 1}`).join('. ');
    const plan = planFromTask(task, ROLES);
    expect(plan.nodes).toHaveLength(MAX_PLAN_NODES);
    expect(plan.nodes.at(-1)!.task).toContain('Build part 20');
  });

  it('always yields a valid graph: acyclic, known roles, percents ≤ 100, deterministic', () => {
    const word = fc.constantFrom('design', 'build', 'test', 'review', 'the', 'api', 'and', 'then', 'plan', 'code', 'docs', '.', ';', ',', '\n', 'write', 'x', 'first', 'next', 'finally', 'before', 'after', 'testing', 'after that');
    fc.assert(
      fc.property(fc.array(word, { maxLength: 60 }).map((w) => w.join(' ')), fc.subarray(ROLES, { minLength: 1 }), (task, roles) => {
        const plan = planFromTask(task, roles);
        expect(parsePlanToolInput(plan, { roles })).toEqual(plan);
        expect(plan.nodes.length).toBeGreaterThanOrEqual(1);
        expect(plan.nodes.reduce((s, n) => s + n.budgetPercent, 0)).toBeLessThanOrEqual(100);
        expect(planFromTask(task, roles)).toEqual(plan);
      }),
      { numRuns: 300 },
    );
  });
});

describe('decomposition request', () => {
  it('forces submit_plan with a schema that enumerates the roles, and reads back', () => {
    const request = buildDecompositionRequest({ task: 'Ship the feature', roles: ROLES, maxTokens: 2000, model: 'claude-haiku-4-5' });
    expect(request.toolChoice).toEqual({ type: 'tool', name: SUBMIT_PLAN_TOOL });
    expect(request.tools).toHaveLength(1);
    expect(request.model).toBe('claude-haiku-4-5');
    expect(JSON.stringify(request.tools[0]!.inputSchema)).toContain('"enum":["architect","implementer","tester","reviewer"]');
    expect(readDecompositionRequest(request)).toEqual({ task: 'Ship the feature', roles: ROLES });
    expect(readDecompositionRequest({ ...request, tools: [] })).toBeUndefined();
  });

  it('validates its own input, naming the field', () => {
    expect(() => buildDecompositionRequest({ task: ' ', roles: ROLES, maxTokens: 10 })).toThrow(/decomposition\.task/);
    expect(() => buildDecompositionRequest({ task: 't', roles: [], maxTokens: 10 })).toThrow(/decomposition\.roles/);
  });
});

describe('parsePlanToolInput', () => {
  const node = (id: string, dependencies: string[] = [], extra: Record<string, unknown> = {}) => ({
    id, role: 'implementer', task: `do ${id}`, budgetPercent: 10, dependencies, ...extra,
  });

  it('names the malformed field', () => {
    expect(() => parsePlanToolInput({ nodes: [node('a'), node('b', [], { budgetPercent: 'lots' })] })).toThrow(/plan\.nodes\[1\]\.budgetPercent/);
    expect(() => parsePlanToolInput({ nodes: [] })).toThrow(InvalidInput);
    expect(() => parsePlanToolInput('nope')).toThrow(InvalidInput);
    // Every problem of the shape at once: the model's one retry needs them all.
    const all = (() => {
      try {
        parsePlanToolInput({ nodes: [node('a', [], { role: 7, budgetPercent: 150 })] });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(all).toMatch(/plan\.nodes\[0\]\.role/);
    expect(all).toMatch(/plan\.nodes\[0\]\.budgetPercent/);
  });

  it('refuses a key the tool schema does not have, naming it (retries: 10 was dropped in silence)', () => {
    expect(() => parsePlanToolInput({ nodes: [node('a', [], { retries: 10, onFailure: 'continue' })] })).toThrow(/plan\.nodes\[0\]: Unrecognized keys: "retries", "onFailure"/);
    expect(() => parsePlanToolInput({ nodes: [node('a')], budget: 99_999_999 })).toThrow(/plan: Unrecognized key: "budget"/);
  });

  it('reports every graph problem at once', () => {
    const error = (() => {
      try {
        parsePlanToolInput(
          { nodes: [node('a', ['c']), node('b', ['a', 'ghost']), node('c', ['b']), node('a'), node('d', ['d'], { role: 'poet', budgetPercent: 80 })] },
          { roles: ['implementer'] },
        );
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InvalidGraph);
    const problems = (error as InvalidGraph).problems.join('\n');
    expect(problems).toContain('duplicate node id a');
    expect(problems).toContain('unknown node ghost');
    expect(problems).toContain('unknown role poet');
    expect(problems).toContain('d depends on itself');
    expect(problems).toContain('over 100');
    expect(problems).toMatch(/cycle a -> c -> b -> a/);
  });

  it('defaults missing dependencies to none and accepts percents summing to 100', () => {
    const plan = parsePlanToolInput({ nodes: [{ id: 'a', role: 'x', task: 't', budgetPercent: 33.3 }, node('b', ['a'], { budgetPercent: 66.7 })] });
    expect(plan.nodes[0]!.dependencies).toEqual([]);
  });
});
