import { z } from 'zod';
import type { ModelRequest, ModelToolSpec } from '../../actors/ports/modelProvider.js';
import { InvalidGraph, InvalidInput } from '../../errors.js';
import { formatPath, parseInput } from '../../validation.js';

/**
 * Auto-decomposition as structured output: the model is forced to call one tool, `submit_plan`,
 * whose input is the workflow graph. This module builds that request and parses the answer;
 * it is pure (zod only), so the workflow code may import it from anywhere.
 */
export const SUBMIT_PLAN_TOOL = 'submit_plan';

/** Upper bound on nodes in one decomposition: more is a sign the task should be split by hand. */
export const MAX_PLAN_NODES = 12;

export interface PlanNode {
  readonly id: string;
  readonly role: string;
  readonly task: string;
  readonly budgetPercent: number;
  readonly dependencies: readonly string[];
}

export interface Plan {
  readonly nodes: readonly PlanNode[];
}

export interface DecompositionInput {
  readonly task: string;
  /** Roles the graph may use; the tool schema enumerates them. */
  readonly roles: readonly string[];
  readonly maxTokens: number;
  readonly model?: string;
  /** Passed through to `ModelRequest.agent` (the offline model reads it; real APIs never see it). */
  readonly agent?: ModelRequest['agent'];
}

const TASK_OPEN = '<task>\n';
const TASK_CLOSE = '\n</task>';

const SYSTEM = [
  'You plan work for a team of AI agents. Decompose the task into a small directed acyclic graph',
  'of nodes and submit it with the submit_plan tool. Rules:',
  '- each node has a unique short id (lowercase letters, digits, "-" or "_"), one of the allowed roles,',
  '  and a self-contained task for that role;',
  '- dependencies list ids of nodes whose output this node needs; there must be no cycles;',
  '- nodes without a dependency between them run in parallel, so only add real dependencies;',
  '- budgetPercent is the share of the workflow budget each node gets; the shares sum to at most 100;',
  `- use between 1 and ${MAX_PLAN_NODES} nodes.`,
].join('\n');

/**
 * The `submit_plan` tool: its JSON schema enumerates the allowed roles, so a model that
 * honours the schema cannot invent one.
 *
 * @example
 * const tool = planToolSpec(['architect', 'implementer']);
 */
export function planToolSpec(roles: readonly string[]): ModelToolSpec {
  return {
    name: SUBMIT_PLAN_TOOL,
    description: 'Submit the workflow graph that decomposes the task.',
    inputSchema: {
      type: 'object',
      properties: {
        nodes: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_PLAN_NODES,
          items: {
            type: 'object',
            properties: {
              id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$', description: 'Unique node id.' },
              role: { type: 'string', enum: [...roles] },
              task: { type: 'string', description: 'What this node must do, self-contained.' },
              budgetPercent: { type: 'number', exclusiveMinimum: 0, maximum: 100 },
              dependencies: { type: 'array', items: { type: 'string' }, description: 'Ids of nodes this one waits for.' },
            },
            required: ['id', 'role', 'task', 'budgetPercent', 'dependencies'],
            additionalProperties: false,
          },
        },
      },
      required: ['nodes'],
      additionalProperties: false,
    },
  };
}

const DecompositionInputSchema = z.object({
  task: z.string().trim().min(1),
  roles: z.array(z.string().min(1)).min(1),
  maxTokens: z.number().int().positive(),
  model: z.string().min(1).optional(),
});

/**
 * Builds the request that asks a model to decompose `task` into a workflow graph. The tool
 * choice forces `submit_plan`, so the reply is a single tool_use whose input goes to
 * `parsePlanToolInput`.
 *
 * @example
 * const request = buildDecompositionRequest({ task, roles: ['architect', 'implementer', 'tester'], maxTokens: 2048 });
 * const reply = await model.complete(request);
 * const call = reply.content.find((b) => b.type === 'tool_use');
 * const plan = parsePlanToolInput(call?.input, { roles: ['architect', 'implementer', 'tester'] });
 */
export function buildDecompositionRequest(input: DecompositionInput): ModelRequest {
  const { task, roles, maxTokens, model } = parseInput(DecompositionInputSchema, input, 'decomposition');
  const text = [
    `Decompose the task below into a workflow graph and submit it with the ${SUBMIT_PLAN_TOOL} tool.`,
    `Allowed roles: ${roles.join(', ')}.`,
    `${TASK_OPEN}${task}${TASK_CLOSE}`,
  ].join('\n');
  return {
    ...(model === undefined ? {} : { model }),
    system: SYSTEM,
    messages: [{ role: 'user', content: [{ type: 'text', text }] }],
    tools: [planToolSpec(roles)],
    maxTokens,
    toolChoice: { type: 'tool', name: SUBMIT_PLAN_TOOL },
    ...(input.agent === undefined ? {} : { agent: input.agent }),
  };
}

/**
 * Reads back the task and the allowed roles from a request built by `buildDecompositionRequest`
 * (the offline model plans from them); undefined when the request is not one.
 *
 * @example
 * const ask = readDecompositionRequest(request); // { task, roles } | undefined
 */
export function readDecompositionRequest(request: ModelRequest): { task: string; roles: string[] } | undefined {
  const tool = request.tools.find((t) => t.name === SUBMIT_PLAN_TOOL);
  if (!tool) return undefined;
  const roles = RolesInSchema.safeParse(tool.inputSchema);
  const text = request.messages
    .filter((m) => m.role === 'user')
    .flatMap((m) => m.content)
    .map((b) => (b.type === 'text' ? b.text : ''))
    .join('\n');
  const start = text.indexOf(TASK_OPEN);
  const end = text.lastIndexOf(TASK_CLOSE);
  const task = start >= 0 && end > start ? text.slice(start + TASK_OPEN.length, end) : request.agent?.task;
  if (!roles.success || task === undefined) return undefined;
  return { task, roles: roles.data.properties.nodes.items.properties.role.enum };
}

const RolesInSchema = z.object({
  properties: z.object({
    nodes: z.object({ items: z.object({ properties: z.object({ role: z.object({ enum: z.array(z.string()).min(1) }) }) }) }),
  }),
});

const PlanSchema = z.object({
  nodes: z
    .array(
      z.object({
        id: z.string().trim().min(1).max(64),
        role: z.string().min(1),
        task: z.string().trim().min(1),
        budgetPercent: z.number().positive().max(100),
        dependencies: z.array(z.string()).default([]),
      }).strict(), // the tool's schema says so; an unknown key (`retries: 10`) was dropped in silence
    )
    .min(1)
    .max(MAX_PLAN_NODES),
}).strict();

/** Room for floating-point sums such as 33.3 + 33.3 + 33.4. */
const PERCENT_EPSILON = 1e-6;

/**
 * Validates the input of a `submit_plan` call (model output, so untrusted). A malformed shape
 * throws `InvalidInput` naming the field (e.g. `plan.nodes[2].budgetPercent`); a well-formed
 * graph that breaks the rules (duplicate ids, unknown dependencies or roles, a cycle, percents
 * over 100) throws `InvalidGraph` listing every problem.
 *
 * @example
 * const plan = parsePlanToolInput(toolUse.input, { roles: ['implementer', 'tester'] });
 */
export function parsePlanToolInput(input: unknown, options: { readonly roles?: readonly string[] } = {}): Plan {
  // Every problem of the shape, not only the first: the model gets one more try, with all of them.
  const parsed = PlanSchema.safeParse(input);
  if (!parsed.success) {
    const [first, ...rest] = parsed.error.issues;
    throw new InvalidInput(formatPath('plan', first!.path), [first!.message, ...rest.map((i) => `${formatPath('plan', i.path)}: ${i.message}`)].join('; '));
  }
  const plan = parsed.data;
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const node of plan.nodes) {
    if (ids.has(node.id)) problems.push(`duplicate node id ${node.id}`);
    ids.add(node.id);
  }
  for (const node of plan.nodes) {
    if (options.roles && !options.roles.includes(node.role)) problems.push(`node ${node.id} has unknown role ${node.role}`);
    for (const dep of node.dependencies) {
      if (dep === node.id) problems.push(`node ${node.id} depends on itself`);
      else if (!ids.has(dep)) problems.push(`node ${node.id} depends on unknown node ${dep}`);
    }
  }
  const total = plan.nodes.reduce((sum, n) => sum + n.budgetPercent, 0);
  if (total > 100 + PERCENT_EPSILON) problems.push(`budget percents sum to ${total}, over 100`);
  const cycle = findCycle(plan.nodes);
  if (cycle) problems.push(`dependency cycle ${cycle.join(' -> ')}`);
  if (problems.length > 0) throw new InvalidGraph(problems);
  return plan;
}

/** A cycle as a path of ids (first = last), or undefined; unknown dependencies are ignored. */
function findCycle(nodes: readonly PlanNode[]): string[] | undefined {
  // Duplicate ids (reported separately) pool their dependencies rather than hide a cycle.
  const deps = new Map<string, string[]>();
  for (const n of nodes) deps.set(n.id, [...(deps.get(n.id) ?? []), ...n.dependencies]);
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const seen = state.get(id);
    if (seen === 'done') return undefined;
    if (seen === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep) || dep === id) continue;
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const node of nodes) {
    const found = visit(node.id);
    if (found) return found;
  }
  return undefined;
}
