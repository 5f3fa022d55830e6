import type { EventData } from '../events/catalogue.js';
import type { AgentContext } from './agentContext.js';
import { workspaceRequestOf, worktreeRefused, type ParsedSpawnConfig } from './spawnConfig.js';
import { jsonSchemaOf } from './jsonSchemaOf.js';

/** What an agent is asked to be: its AgentSpawned without its place in the tree, nor whether it started in its opening (streamOpening.ts decides that). */
export type AgentSpec = Omit<EventData<'AgentSpawned'>, 'agentId' | 'parentId' | 'rootId' | 'depth' | 'started'>;

/** The system's defaults for what a spawn config leaves out. */
export interface SpecDefaults {
  readonly defaultTimeoutMs: number | null;
  readonly defaultMaxTurns: number;
  /** The user tools a root may call when its spawn names none (createAgentSystem({ tools })). */
  readonly systemTools?: readonly string[];
}

/** What a caller adds to a spawn config: a workflow's kind and graph, the node it runs for. */
export interface SpawnExtra {
  readonly kind?: 'agent' | 'workflow';
  readonly graph?: unknown;
  readonly nodeId?: string;
  /** The attempt of node `nodeId` the child runs: its parent's ChildSpawned starts that node (v4). */
  readonly nodeAttempt?: number;
}

/**
 * A spawn config resolved into a spec: defaults applied, and a child inherits its parent's model
 * and, unless it refuses one, a worktree when its parent asked for one (branched from the
 * parent's).
 *
 * @example
 * resolveSpec(SpawnConfigSchema.parse({ role: 'coder', task: 't', budget: 1000 }), null, config, {})
 */
export function resolveSpec(c: ParsedSpawnConfig, parent: AgentContext | null, defaults: SpecDefaults, extra: SpawnExtra): AgentSpec {
  return {
    kind: extra.kind ?? 'agent',
    role: c.role,
    task: c.task,
    budget: c.budget,
    workspace: worktreeRefused(c) ? null : withParentRepo(workspaceRequestOf(c) ?? (parent?.workspaceRequest ? {} : null), parent),
    timeoutMs: c.timeoutMs ?? defaults.defaultTimeoutMs,
    maxTurns: c.maxTurns ?? defaults.defaultMaxTurns,
    model: c.model ?? parent?.model ?? null,
    ...(extra.graph !== undefined ? { graph: extra.graph } : {}),
    ...(extra.nodeId ? { nodeId: extra.nodeId } : {}),
    ...optionalFields(toolNamesOf(c, parent, defaults), c.instructions, c.output ? jsonSchemaOf(c.output) : undefined),
  };
}

/** A child's worktree is made in its parent's repository, as the parent's own is. */
function withParentRepo(request: { base?: string } | null, parent: AgentContext | null): { base?: string; repo?: string } | null {
  const repo = parent?.workspaceRequest?.repo;
  return request && repo ? { ...request, repo } : request;
}

/** The names of the user tools a spawn gives its agent: its own, else its parent's, else (a root) the system's. */
function toolNamesOf(c: ParsedSpawnConfig, parent: AgentContext | null, defaults: SpecDefaults): string[] {
  if (c.tools) return [...new Set(c.tools.map((t) => (typeof t === 'string' ? t : t.name)))];
  return [...(parent ? parent.tools : defaults.systemTools ?? [])];
}

/** The spec's optional fields, left out when empty: most agents have none, and every event's bytes count (issue 19). */
function optionalFields(tools: readonly string[], instructions: string | undefined, output: Record<string, unknown> | undefined): Pick<AgentSpec, 'tools' | 'instructions' | 'output'> {
  return { ...(tools.length > 0 ? { tools: [...tools] } : {}), ...(instructions ? { instructions } : {}), ...(output ? { output } : {}) };
}

/**
 * The one builder of AgentSpawned: a root (no parent) heads its own tree; a child sits one level
 * below its parent, in its tree.
 *
 * @example
 * agentSpawned(childId, parentContext, recordedSpec(parentContext, childId, config)!)
 */
export function agentSpawned(agentId: string, parent: AgentContext | null, spec: AgentSpec): EventData<'AgentSpawned'> {
  return { agentId, parentId: parent?.id ?? null, rootId: parent?.rootId ?? agentId, depth: parent ? parent.depth + 1 : 0, ...spec };
}

/**
 * A parent's record of a new child, carrying its whole spec so that the child's stream can be
 * opened from it alone (after a crash between the two appends, too), handing it its budget, and
 * starting attempt `nodeAttempt` of its node when a workflow spawns it for one.
 *
 * @example
 * { type: 'ChildSpawned', data: childSpawned(childId, spec, toolUseId) }
 */
export function childSpawned(childId: string, spec: AgentSpec, toolUseId?: string, nodeAttempt: number | null = null): EventData<'ChildSpawned'> {
  const { kind, role, task, budget, nodeId, workspace, timeoutMs, maxTurns, model, graph, tools, instructions, output } = spec;
  return {
    childId,
    role,
    task,
    budget,
    kind,
    ...(toolUseId ? { toolUseId } : {}),
    ...(nodeId ? { nodeId } : {}),
    spec: { workspace, timeoutMs, maxTurns, model, ...(graph !== undefined ? { graph } : {}), ...optionalFields(tools ?? [], instructions, output) },
    delegatesBudget: true,
    nodeAttempt: nodeId ? nodeAttempt : null,
  };
}

/**
 * The spec `parent` recorded for `childId`, or null if it records no such child. A record from
 * before ChildSpawned v2 kept no spec: the child gets what reopening gave it then (the system's
 * defaults, the parent's model, a worktree if the parent has one).
 *
 * @example
 * const spec = recordedSpec(parent, childId, config); if (spec) open(agentSpawned(childId, parent, spec));
 */
export function recordedSpec(parent: AgentContext, childId: string, defaults: SpecDefaults): AgentSpec | null {
  const rec = parent.children[childId];
  if (!rec) return null;
  const rest = rec.spec ?? { workspace: parent.workspace ? {} : null, timeoutMs: defaults.defaultTimeoutMs, maxTurns: defaults.defaultMaxTurns, model: parent.model };
  return { kind: rec.kind, role: rec.role, task: rec.task, budget: rec.budget, ...rest, ...(rec.nodeId ? { nodeId: rec.nodeId } : {}) };
}
