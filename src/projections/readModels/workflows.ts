import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, excerpt, indexName, physicalTable, type Projection, type SqlStatement, type TableNames } from '../projection.js';
import { build } from '../sqlBuilder.js';
import { foldWorkflowBatch } from './workflowBatchFold.js';
import { plannedNodes } from './workflowPlan.js';

/**
 * Workflow runs (one per workflow agent) and their nodes. Node counts on the run are recounted
 * from the nodes once per batch for every run whose nodes moved, so they can never drift.
 *
 * Node status: `pending` (planned) → `running` → `completed` | `retrying` (failed, will retry) |
 * `failed` | `skipped`.
 */
export const workflowsProjection: Projection = {
  name: 'workflows',
  version: 1,
  tables: ['workflow_runs', 'workflow_nodes'],
  migrations(schema, suffix) {
    const runs = physicalTable(schema, 'workflow_runs', suffix);
    const nodes = physicalTable(schema, 'workflow_nodes', suffix);
    return [
      `CREATE TABLE ${runs} (
        run_id text PRIMARY KEY,
        root_id text NOT NULL,
        parent_id text,
        role text NOT NULL,
        task text NOT NULL,
        budget bigint NOT NULL,
        source text,
        template_id text,
        status text NOT NULL,
        nodes_total int NOT NULL DEFAULT 0,
        nodes_pending int NOT NULL DEFAULT 0,
        nodes_running int NOT NULL DEFAULT 0,
        nodes_completed int NOT NULL DEFAULT 0,
        nodes_failed int NOT NULL DEFAULT 0,
        nodes_skipped int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL,
        started_at timestamptz,
        ended_at timestamptz,
        last_position bigint NOT NULL
      )`,
      `CREATE INDEX ${indexName('workflow_runs', suffix, 'root')} ON ${runs} (root_id)`,
      `CREATE INDEX ${indexName('workflow_runs', suffix, 'status')} ON ${runs} (status)`,
      `CREATE TABLE ${nodes} (
        run_id text NOT NULL,
        node_id text NOT NULL,
        role text,
        budget_percent double precision,
        dependencies jsonb NOT NULL DEFAULT '[]',
        status text NOT NULL,
        child_agent_id text,
        attempt int NOT NULL DEFAULT 0,
        budget bigint,
        output_excerpt text,
        error text,
        started_at timestamptz,
        ended_at timestamptz,
        last_position bigint NOT NULL,
        PRIMARY KEY (run_id, node_id)
      )`,
      `CREATE INDEX ${indexName('workflow_nodes', suffix, 'child')} ON ${nodes} (child_agent_id)`,
    ];
  },
  handle: handleWorkflowEvent,
  // Four statements per batch, the same rows as `handle` event by event (workflowBatchFold.ts).
  handleBatch: foldWorkflowBatch,
  afterBatch: recountNodes,
};

const MOVES_NODES: ReadonlySet<string> = new Set(['WorkflowPlanned', 'NodeStarted', 'NodeCompleted', 'NodeFailed', 'NodeSkipped']);

/** Whether `e` changes a node's row: a node event, a ChildSpawned v4 that starts one, a ChildFinished v3 that completes one. */
const movesNodes = (e: ParsedEvent): boolean =>
  MOVES_NODES.has(e.type) || (e.type === 'ChildSpawned' && e.data.nodeAttempt !== null && e.data.nodeId !== undefined) || (e.type === 'ChildFinished' && e.data.completesNode !== null);

/**
 * One UPDATE recounting the nodes of every run the batch's node events touched (a recount per
 * node event was ~9 planned statements per 4-node run). The run's `last_position` becomes its
 * last node event's where that is later: what recounting after each of them left.
 */
function recountNodes(events: readonly ParsedEvent[], tables: TableNames): SqlStatement[] {
  const last = new Map<string, string>();
  for (const e of events) {
    const runId = agentIdOf(e.streamId);
    if (runId !== null && movesNodes(e)) last.set(runId, String(e.position));
  }
  if (last.size === 0) return [];
  const runs = tables.workflow_runs!;
  const nodes = tables.workflow_nodes!;
  const count = (status: string): string => `count(*) FILTER (WHERE n.status = '${status}')`;
  return [build((p) => `UPDATE ${runs} r SET nodes_total = c.total, nodes_pending = c.pending, nodes_running = c.running,
      nodes_completed = c.completed, nodes_failed = c.failed, nodes_skipped = c.skipped, last_position = greatest(r.last_position, x.position)
    FROM jsonb_to_recordset(${p([...last].map(([run_id, position]) => ({ run_id, position })), 'jsonb')}) AS x(run_id text, position bigint)
    CROSS JOIN LATERAL (SELECT count(*) AS total, ${count('pending')} AS pending, ${count('running')} + ${count('retrying')} AS running,
        ${count('completed')} AS completed, ${count('failed')} AS failed, ${count('skipped')} AS skipped
      FROM ${nodes} n WHERE n.run_id = x.run_id) c
    WHERE r.run_id = x.run_id`)];
}

/**
 * The workflows tables' statements for one event: the reference the batch fold must equal.
 */
function handleWorkflowEvent(e: ParsedEvent, tables: TableNames): SqlStatement[] {
  const runs = tables.workflow_runs!;
  const nodes = tables.workflow_nodes!;
  const at = e.metadata.at;
  if (e.type === 'AgentSpawned') {
    if (e.data.kind !== 'workflow') return [];
    const d = e.data;
    // Started in its opening (`started`): as an AgentStarted right after it would leave it.
    const started = d.started !== undefined;
    return [
      build((p) => `INSERT INTO ${runs} (run_id, root_id, parent_id, role, task, budget, status, created_at, started_at, last_position)
        VALUES (${p(d.agentId, 'text')}, ${p(d.rootId, 'text')}, ${p(d.parentId, 'text')}, ${p(d.role, 'text')},
          ${p(excerpt(d.task), 'text')}, ${p(d.budget, 'bigint')}, '${started ? 'running' : 'spawned'}', ${p(at, 'timestamptz')},
          ${p(started ? at : null, 'timestamptz')}, ${p(e.position, 'bigint')})
        ON CONFLICT (run_id) DO NOTHING`),
    ];
  }
  const runId = agentIdOf(e.streamId);
  if (runId === null) return [];
  // Non-workflow agents have no run row: these updates then touch nothing.
  const run = (set: (p: (v: unknown, type: string) => string) => string): SqlStatement =>
    build((p) => `UPDATE ${runs} SET ${set(p)}, last_position = ${p(e.position, 'bigint')} WHERE run_id = ${p(runId, 'text')}`);
  const node = (nodeId: string, insertStatus: string, set: (p: (v: unknown, type: string) => string) => string): SqlStatement =>
    build((p) => `INSERT INTO ${nodes} AS n (run_id, node_id, status, last_position)
        VALUES (${p(runId, 'text')}, ${p(nodeId, 'text')}, '${insertStatus}', ${p(e.position, 'bigint')})
      ON CONFLICT (run_id, node_id) DO UPDATE SET ${set(p)}, last_position = excluded.last_position`);
  const nodeStarted = (nodeId: string, childId: string, attempt: number, budget: number): SqlStatement =>
    node(nodeId, 'running', (p) => `status = 'running', child_agent_id = ${p(childId, 'text')},
      attempt = ${p(attempt, 'int')}, budget = ${p(budget, 'bigint')}, error = NULL,
      started_at = coalesce(n.started_at, ${p(at, 'timestamptz')})`);
  const nodeCompleted = (nodeId: string, childId: string, output: string): SqlStatement =>
    node(nodeId, 'completed', (p) => `status = 'completed', child_agent_id = ${p(childId, 'text')},
      output_excerpt = ${p(excerpt(output, 500), 'text')}, ended_at = ${p(at, 'timestamptz')}`);

  switch (e.type) {
    case 'WorkflowPlanned': {
      const planned = plannedNodes(e.data.graph);
      return [
        run((p) => `source = ${p(e.data.source, 'text')}, template_id = ${p(e.data.templateId, 'text')}`),
        ...planned.map((n) =>
          build((p) => `INSERT INTO ${nodes} AS x (run_id, node_id, role, budget_percent, dependencies, status, last_position)
              VALUES (${p(runId, 'text')}, ${p(n.id, 'text')}, ${p(n.role, 'text')}, ${p(n.budgetPercent, 'float8')},
                ${p(JSON.stringify(n.dependencies), 'jsonb')}, 'pending', ${p(e.position, 'bigint')})
            ON CONFLICT (run_id, node_id) DO UPDATE SET role = excluded.role, budget_percent = excluded.budget_percent,
              dependencies = excluded.dependencies, last_position = excluded.last_position`),
        )
      ];
    }
    // A node starts with its child's ChildSpawned (v4), or with the NodeStarted after an older one.
    case 'ChildSpawned':
      return e.data.nodeAttempt !== null && e.data.nodeId !== undefined ? [nodeStarted(e.data.nodeId, e.data.childId, e.data.nodeAttempt, e.data.budget)] : [];
    case 'NodeStarted':
      return [nodeStarted(e.data.nodeId, e.data.childId, e.data.attempt, e.data.budget)];
    // A node completes with its child's ChildFinished (v3), or with the NodeCompleted after an older one.
    case 'ChildFinished':
      return e.data.completesNode !== null ? [nodeCompleted(e.data.completesNode, e.data.childId, e.data.output ?? '')] : [];
    case 'NodeCompleted':
      return [nodeCompleted(e.data.nodeId, e.data.childId, e.data.output)];
    case 'NodeFailed':
      return [
        node(e.data.nodeId, e.data.willRetry ? 'retrying' : 'failed', (p) => `status = ${p(e.data.willRetry ? 'retrying' : 'failed', 'text')},
          child_agent_id = ${p(e.data.childId, 'text')}, attempt = ${p(e.data.attempt, 'int')},
          error = ${p(excerpt(e.data.reason, 500), 'text')}, ended_at = ${p(e.data.willRetry ? null : at, 'timestamptz')}`)
      ];
    case 'NodeSkipped':
      return [
        node(e.data.nodeId, 'skipped', (p) => `status = 'skipped', error = ${p(excerpt(e.data.reason, 500), 'text')},
          ended_at = ${p(at, 'timestamptz')}`)
      ];
    case 'AgentStarted':
      return [run((p) => `status = 'running', started_at = coalesce(started_at, ${p(at, 'timestamptz')})`)];
    case 'AgentCompleted':
      return [run((p) => `status = 'completed', ended_at = ${p(at, 'timestamptz')}`)];
    case 'AgentFailed':
      return [run((p) => `status = 'failed', ended_at = ${p(at, 'timestamptz')}`)];
    case 'AgentTerminated':
      return [run((p) => `status = 'terminated', ended_at = ${p(at, 'timestamptz')}`)];
    case 'AgentRunRequested':
    case 'AgentTimedOut':
    case 'AgentTerminating':
    case 'BudgetReserved':
    case 'BudgetSettled':
    case 'BudgetReleased':
    case 'BudgetDelegated':
    case 'BudgetReclaimed':
    case 'BudgetOverspent':
    case 'ModelRequested':
    case 'ModelReplied':
    case 'ModelFailed':
    case 'ToolCalled':
    case 'ToolReturned':
    case 'MessageSent':
    case 'MessageReceived':
    case 'MessageAcked':
    case 'WorkspaceCreated':
    case 'WorkspaceCommitted':
    case 'WorkspaceMerged':
    case 'WorkspaceMergeConflicted':
    case 'WorkspaceRemoved':
    case 'WorkflowPlanRejected':
    case 'ApprovalRequested':
    case 'ApprovalGranted':
    case 'ApprovalDenied':
      return [];
    default: {
      const never: never = e;
      return never;
    }
  }
}
