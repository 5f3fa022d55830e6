import { z } from 'zod';
import { AgentId, TerminalStatus, Tokens } from './common.js';
import { BudgetReclaimed } from './budget.js';

/**
 * A worktree asked for: `base`, the branch or commit it starts at; `repo`, the repository it is
 * to be made in (the top folder, as the spawning process resolved it), so that a process in
 * another repository leaves the agent alone rather than make its worktree there. Absent in
 * records older than that: any repository then.
 */
export const WorkspaceRequest = z.object({ base: z.string().min(1).max(250).optional(), repo: z.string().min(1).max(4096).optional() });

/**
 * Where a forked agent comes from: its source's id, the revision it was cut at (the source's
 * state after that event), that event's global position (a string: positions may pass 2^53), and
 * the tokens the source had spent up to there (history shown on the fork, never charged to it).
 */
export const ForkedFrom = z.object({
  sourceId: AgentId,
  sourceRevision: z.number().int().nonnegative(),
  sourcePosition: z.string().regex(/^[0-9]+$/),
  spentBefore: Tokens,
});

/** Began running, with its deadline (null: none). */
export const AgentStarted = z.object({ deadline: z.string().nullable() });

/** Opens every agent's stream. A root has `parentId: null`. */
export const AgentSpawned = z.object({
  agentId: AgentId,
  parentId: AgentId.nullable(),
  rootId: AgentId,
  depth: z.number().int().nonnegative(),
  kind: z.enum(['agent', 'workflow']),
  role: z.string().min(1).max(200),
  task: z.string().max(100_000),
  budget: Tokens,
  workspace: WorkspaceRequest.nullable(),
  timeoutMs: z.number().int().positive().nullable(),
  maxTurns: z.number().int().positive(),
  model: z.string().max(200).nullable(),
  /**
   * A workflow's graph, in records written before its WorkflowPlanned rode in the same commit
   * (planFromSpawn plans from it when that record is missing); today's spawns leave it out.
   */
  graph: z.unknown().optional(),
  /** Id of the node this agent runs for, when a workflow spawned it. */
  nodeId: z.string().max(200).optional(),
  /** The user tools it may call, by name (absent: none). Tools are code: a process hosts it only if it has them all. */
  tools: z.array(z.string().max(64)).optional(),
  /** Added to its system prompt. */
  instructions: z.string().max(100_000).optional(),
  /** The JSON Schema its result must satisfy, when it was spawned with `output`. */
  output: z.record(z.string(), z.unknown()).optional(),
  /** Set on a fork's opening (system.fork); absent on every other spawn and on older records. */
  forkedFrom: ForkedFrom.optional(),
  /**
   * Started in its opening's commit, with its deadline (issue 19: one event where there were two,
   * AgentSpawned then AgentStarted, always appended together). Absent: it starts with an
   * AgentStarted later, as every agent did before; so older records need no upcaster.
   */
  started: AgentStarted.optional(),
});

/** Asked to run; it starts when a slot under MAX_CONCURRENT_AGENTS frees up. */
export const AgentRunRequested = z.object({});

/**
 * The rest of a child's AgentSpawned, as its parent resolved it (defaults applied): with the
 * fields beside it in ChildSpawned, a child whose stream a crash left unopened is opened exactly
 * as it was asked for.
 */
export const ChildSpec = AgentSpawned.pick({ workspace: true, timeoutMs: true, maxTurns: true, model: true, graph: true, tools: true, instructions: true, output: true });

/**
 * In the parent's stream. v3 hands the child its `budget` itself (`delegatesBudget: true`): the
 * two always travelled in one append, so the BudgetDelegated beside it is no longer written.
 * v1 and v2 records read as `delegatesBudget: false`, with their BudgetDelegated after them.
 * v4 starts a workflow node too (`nodeAttempt`, what a NodeStarted said: node `nodeId`, run by
 * `childId` with `budget`): a node's ChildSpawned and NodeStarted always travelled in one append,
 * so the NodeStarted is no longer written. v1 to v3 records read as `nodeAttempt: null`, with
 * their NodeStarted after them.
 */
export const ChildSpawned = z.object({
  childId: AgentId,
  role: z.string(),
  task: z.string(),
  budget: Tokens,
  kind: z.enum(['agent', 'workflow']),
  /** The tool call that asked for it, when a model did. */
  toolUseId: z.string().optional(),
  nodeId: z.string().optional(),
  /** v2: the child's spec; null when recorded by v1, which kept only the fields above. */
  spec: ChildSpec.nullable(),
  /** v3: true when this event delegates `budget` (no BudgetDelegated follows). */
  delegatesBudget: z.boolean(),
  /**
   * v4: the attempt (1, 2, ...) of workflow node `nodeId` this child runs, when this event starts
   * that node (no NodeStarted follows); null when it starts none (a child that is no node's, and
   * every record before v4).
   */
  nodeAttempt: z.number().int().positive().nullable(),
}).refine((d) => d.nodeAttempt === null || d.nodeId !== undefined, { message: 'a ChildSpawned that starts a node (nodeAttempt) names it (nodeId)', path: ['nodeId'] });

/**
 * In the parent's stream: a child reached a terminal state. v2 carries the budget's return
 * itself (`reclaim`, the fields of a BudgetReclaimed): the two always travelled in one append.
 * A v1 record reads as `reclaim: null`, with its BudgetReclaimed after it. v3 completes the
 * workflow node the child ran too (`completesNode`, what a NodeCompleted said: node, `childId`,
 * and `output` handed to its dependents, '' when null): the NodeCompleted beside it is no longer
 * written. v1 and v2 records read as `completesNode: null`, with their NodeCompleted after them.
 */
export const ChildFinished = z.object({
  childId: AgentId,
  status: TerminalStatus,
  output: z.string().nullable(),
  reclaim: BudgetReclaimed.omit({ childId: true }).nullable(),
  /**
   * v3: the id of the workflow node this end completes (the child completed, running that node's
   * current attempt); null when it completes none (a failed child, no node's, every record before
   * v3). The id itself, not a flag: a reader of the parent's stream needs no map from child to node.
   */
  completesNode: z.string().nullable(),
});

export const AgentCompleted = z.object({ output: z.string(), returned: Tokens });
export const AgentFailed = z.object({
  reason: z.string(),
  partialOutput: z.string().nullable(),
  returned: Tokens,
  /** `timeout`, `budget_exhausted` (a call would not fit), `budget_exceeded` (a reply overspent), `max_turns`, `model_error`, `child_failed`, `error`. */
  cause: z.string(),
});
export const AgentTerminated = z.object({ reason: z.string(), by: z.string().nullable(), returned: Tokens });
/** Recorded by the durable timer when the agent's deadline passes. */
export const AgentTimedOut = z.object({ deadline: z.string() });
export const AgentTerminating = z.object({ reason: z.string(), by: z.string().nullable() });
