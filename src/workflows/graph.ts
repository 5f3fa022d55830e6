import { z } from 'zod';
import { InvalidGraph } from '../errors.js';
import { parseInput } from '../validation.js';
import { withNodeDefaults } from './nodeDefaults.js';

/**
 * A workflow graph and its validation. Pure (zod only): nothing here touches the store, the
 * model or the disk, so the same checks run on templates, callers' graphs and model plans.
 */
export const WorkflowNodeSchema = z
  .object({
    id: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, ".", "-" or "_"')
      // A model's plan named a node `constructor`: read from a plain object, its state was
      // Object's own function and the workflow stuck with "no node can start" (a hostile-model try).
      .refine((id) => !(id in Object.prototype), 'must not be a name every JavaScript object has (constructor, toString, valueOf, …)'),
    role: z.string().trim().min(1).max(100),
    task: z.string().trim().min(1).max(20_000),
    budgetPercent: z.number().min(0).max(100),
    // At most as long as an id: 10,000-character names of unknown nodes made a 10 MB error.
    dependencies: z.array(z.string().min(1).max(64)).max(100).default([]),
    /** Extra attempts after a failure (0 = run once). */
    retries: z.number().int().min(0).max(10).default(0),
    /** `fail`: the workflow fails if this node does not complete. `continue`: it is optional. */
    onFailure: z.enum(['fail', 'continue']).default('fail'),
  })
  .strict();

export const WorkflowGraphSchema = z.object({ nodes: z.array(WorkflowNodeSchema).min(1).max(100) }).strict();

export type WorkflowNode = z.output<typeof WorkflowNodeSchema>;
export type WorkflowGraph = z.output<typeof WorkflowGraphSchema>;
/** What callers write: `dependencies`, `retries` and `onFailure` may be left out. */
export type WorkflowGraphInput = z.input<typeof WorkflowGraphSchema>;
export type WorkflowNodeInput = z.input<typeof WorkflowNodeSchema>;

/** Room for floating-point sums such as 33.3 + 33.3 + 33.4. */
const PERCENT_EPSILON = 1e-6;

export interface ValidateGraphOptions {
  /** Roles a node may use; omit to accept any role. */
  readonly roles?: readonly string[];
  /** Root of field names in errors: `graph` (the default) gives `graph.nodes[2].role`. */
  readonly field?: string;
}

/**
 * Parses and checks a graph before anything is spawned. A malformed shape throws `InvalidInput`
 * naming the field (`graph.nodes[2].budgetPercent`); a well-formed graph that breaks the rules
 * throws `InvalidGraph` listing every problem, each naming its node and field: duplicate ids,
 * unknown or self dependencies, a cycle (as a path), percents over 100 in sum, unknown roles.
 *
 * @example
 * const graph = validateGraph({ nodes: [
 *   { id: 'design', role: 'architect', task: 'Design it', budgetPercent: 30 },
 *   { id: 'build', role: 'implementer', task: 'Build it', budgetPercent: 60, dependencies: ['design'] },
 * ] }, { roles: ['architect', 'implementer'] });
 */
export function validateGraph(input: unknown, options: ValidateGraphOptions = {}): WorkflowGraph {
  const root = options.field ?? 'graph';
  const graph = parseInput(WorkflowGraphSchema, withNodeDefaults(input), root);
  const problems = graphProblems(graph, options.roles, `${root}.`);
  if (problems.length > 0) throw new InvalidGraph(problems);
  return graph;
}

/**
 * Every rule the graph breaks, as messages naming the field (`<prefix>nodes[1].dependencies: ...`);
 * empty when it is valid. `roles` omitted: any role is accepted.
 */
export function graphProblems(graph: WorkflowGraph, roles: readonly string[] | undefined, prefix = 'graph.'): string[] {
  const problems: string[] = [];
  const at = (i: number, field: string): string => `${prefix}nodes[${i}].${field}`;
  const seen = new Set<string>();
  graph.nodes.forEach((n, i) => {
    if (seen.has(n.id)) problems.push(`${at(i, 'id')}: duplicate node id "${n.id}"${n.id === n.role ? ' (a node without an id takes its role as id: give each an "id")' : ''}`);
    seen.add(n.id);
  });
  graph.nodes.forEach((n, i) => {
    if (roles && !roles.includes(n.role)) problems.push(`${at(i, 'role')}: node "${n.id}" has unknown role "${n.role}" (known: ${roles.join(', ')})`);
    const deps = new Set<string>();
    const repeated = new Set<string>();
    for (const dep of n.dependencies) {
      if (deps.has(dep)) {
        // Said once however often it repeats (three times said it twice, word for word).
        if (!repeated.has(dep)) problems.push(`${at(i, 'dependencies')}: node "${n.id}" lists "${dep}" more than once`);
        repeated.add(dep);
        continue;
      }
      deps.add(dep);
      if (dep === n.id) problems.push(`${at(i, 'dependencies')}: node "${n.id}" depends on itself`);
      else if (!seen.has(dep)) problems.push(`${at(i, 'dependencies')}: node "${n.id}" depends on unknown node "${dep}"`);
    }
  });
  const total = graph.nodes.reduce((sum, n) => sum + n.budgetPercent, 0);
  if (total > 100 + PERCENT_EPSILON) problems.push(`${prefix}nodes[*].budgetPercent: percents sum to ${round(total)}, over 100`);
  const cycle = findCycle(graph.nodes);
  if (cycle) problems.push(`${prefix}nodes[*].dependencies: dependency cycle ${cycle.join(' -> ')}`);
  // Bounded, as every error is: 12 nodes of 100 unknown dependencies each made 1,200 problems.
  return problems.length <= MAX_PROBLEMS ? problems : [...problems.slice(0, MAX_PROBLEMS), `… and ${problems.length - MAX_PROBLEMS} more problems`];
}

const MAX_PROBLEMS = 20;

const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/** A cycle as a path of ids (first = last), or undefined. Self and unknown dependencies are reported elsewhere. */
export function findCycle(nodes: ReadonlyArray<{ readonly id: string; readonly dependencies: readonly string[] }>): string[] | undefined {
  const deps = new Map<string, string[]>();
  for (const n of nodes) deps.set(n.id, [...(deps.get(n.id) ?? []), ...n.dependencies]);
  const state = new Map<string, 'open' | 'closed'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const s = state.get(id);
    if (s === 'closed') return undefined;
    if (s === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    path.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (dep === id || !deps.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'closed');
    return undefined;
  };
  for (const n of nodes) {
    const found = visit(n.id);
    if (found) return found.reverse(); // reads in execution order: a -> b means b waits for a
  }
  return undefined;
}

/** Node ids in an order where every node comes after its dependencies (ties: graph order). */
export function topologicalOrder(graph: WorkflowGraph): string[] {
  const done = new Set<string>();
  const out: string[] = [];
  while (out.length < graph.nodes.length) {
    const next = graph.nodes.find((n) => !done.has(n.id) && n.dependencies.every((d) => done.has(d)));
    if (!next) break; // cyclic: validated graphs never get here
    done.add(next.id);
    out.push(next.id);
  }
  return out;
}
