import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, excerpt, type SqlStatement, type TableNames } from '../projection.js';
import { build, setFromFold } from '../sqlBuilder.js';
import { plannedNodes } from './workflowPlan.js';

/**
 * The workflows read model for a whole batch in four statements: the runs its workflow
 * AgentSpawned events open (with what the batch did to them), one UPDATE folding the other runs' events, one UPDATE folding every
 * node's events into rows that exist, then the nodes the batch creates. Applying workflows.ts
 * `handleWorkflowEvent` event by event made ~16 planned statements per 4-node run. Pure; proven
 * equal to it on random histories (tests/int/batchFolds.int.test.ts).
 *
 * A node event is an upsert: the first one of a node not yet stored inserts the row with its
 * own insert values, and every later one sets columns on it. So each node folds twice: `fresh`,
 * the row the batch leaves if the node was new, and `sets`, what the batch does to a stored row.
 */

type Row = Record<string, unknown>;

/** What one node event inserts (a new node) and sets (a stored one); `started_at` coalesces. */
interface NodeWrite {
  readonly insert: Row;
  readonly set: Row;
  readonly startedAt?: string;
}

interface NodeFold {
  readonly key: { run_id: string; node_id: string };
  fresh: Row;
  readonly sets: Row;
  startedAt: string | null;
  lastPosition: string;
}

interface RunFold {
  readonly runId: string;
  readonly sets: Row;
  startedAt: string | null;
  lastPosition: string;
}

/** A new node's row before its first event: the table's defaults. */
const NODE_DEFAULTS: Row = {
  role: null, budget_percent: null, dependencies: [], child_agent_id: null, attempt: 0, budget: null, output_excerpt: null,
  error: null, started_at: null, ended_at: null,
};

/** The node writes of one event of run `runId` (handleWorkflowEvent's upserts, as data). */
function nodeWrites(e: ParsedEvent): Array<{ nodeId: string; write: NodeWrite }> {
  const at = e.metadata.at;
  const one = (nodeId: string, write: NodeWrite) => [{ nodeId, write }];
  switch (e.type) {
    case 'WorkflowPlanned':
      return plannedNodes(e.data.graph).map((n) => {
        const planned = { role: n.role, budget_percent: n.budgetPercent, dependencies: n.dependencies };
        return { nodeId: n.id, write: { insert: { ...planned, status: 'pending' }, set: planned } };
      });
    // A node starts with its child's ChildSpawned (v4), or with the NodeStarted after an older one.
    case 'ChildSpawned':
      return e.data.nodeAttempt !== null && e.data.nodeId !== undefined ? one(e.data.nodeId, nodeStarted(at, e.data.childId, e.data.nodeAttempt, e.data.budget)) : [];
    case 'NodeStarted':
      return one(e.data.nodeId, nodeStarted(at, e.data.childId, e.data.attempt, e.data.budget));
    // A node completes with its child's ChildFinished (v3), or with the NodeCompleted after an older one.
    case 'ChildFinished':
      return e.data.completesNode !== null ? one(e.data.completesNode, nodeCompleted(at, e.data.childId, e.data.output ?? '')) : [];
    case 'NodeCompleted':
      return one(e.data.nodeId, nodeCompleted(at, e.data.childId, e.data.output));
    case 'NodeFailed': {
      const status = e.data.willRetry ? 'retrying' : 'failed';
      return one(e.data.nodeId, {
        insert: { status },
        set: { status, child_agent_id: e.data.childId, attempt: e.data.attempt, error: excerpt(e.data.reason, 500), ended_at: e.data.willRetry ? null : at },
      });
    }
    case 'NodeSkipped':
      return one(e.data.nodeId, { insert: { status: 'skipped' }, set: { status: 'skipped', error: excerpt(e.data.reason, 500), ended_at: at } });
    default:
      return [];
  }
}

const nodeStarted = (at: string, childId: string, attempt: number, budget: number): NodeWrite => ({
  insert: { status: 'running' },
  set: { status: 'running', child_agent_id: childId, attempt, budget, error: null },
  startedAt: at,
});

const nodeCompleted = (at: string, childId: string, output: string): NodeWrite => ({
  insert: { status: 'completed' },
  set: { status: 'completed', child_agent_id: childId, output_excerpt: excerpt(output, 500), ended_at: at },
});

/** The run columns one event of the workflow agent's own stream sets; null for the rest. */
function runWrite(e: ParsedEvent): { set: Row; startedAt?: string } | null {
  const at = e.metadata.at;
  switch (e.type) {
    case 'WorkflowPlanned':
      return { set: { source: e.data.source, template_id: e.data.templateId } };
    case 'AgentStarted':
      return { set: { status: 'running' }, startedAt: at };
    case 'AgentCompleted':
      return { set: { status: 'completed', ended_at: at } };
    case 'AgentFailed':
      return { set: { status: 'failed', ended_at: at } };
    case 'AgentTerminated':
      return { set: { status: 'terminated', ended_at: at } };
    default:
      return null;
  }
}

const RUN_COLUMNS = [['status', 'text'], ['ended_at', 'timestamptz'], ['source', 'text'], ['template_id', 'text']] as const;
const NODE_COLUMNS = [
  ['role', 'text'], ['budget_percent', 'float8'], ['dependencies', 'jsonb'], ['status', 'text'], ['child_agent_id', 'text'], ['attempt', 'int'],
  ['budget', 'bigint'], ['output_excerpt', 'text'], ['error', 'text'], ['ended_at', 'timestamptz'],
] as const;

/**
 * A batch's statements for the workflows tables (see the file's comment). A run with events
 * before its own AgentSpawned in the batch (never in a store) ends a segment there.
 *
 * @example
 * foldWorkflowBatch(events, tableNames(workflowsProjection, 'cadre', 'v1_r0'))
 */
export function foldWorkflowBatch(events: readonly ParsedEvent[], tables: TableNames): SqlStatement[] {
  const runs = tables.workflow_runs!;
  const nodes = tables.workflow_nodes!;
  const out: SqlStatement[] = [];
  let spawns: Row[] = [];
  let runFolds = new Map<string, RunFold>();
  let nodeFolds = new Map<string, NodeFold>();
  const flush = (): void => {
    if (spawns.length > 0) {
      // A run opened in this segment is inserted as the segment leaves it (one row version), not
      // inserted and then updated by the same transaction.
      for (const row of spawns) {
        const f = runFolds.get(row.run_id as string);
        if (!f) continue;
        Object.assign(row, f.sets);
        row.started_at ??= f.startedAt;
        row.last_position = f.lastPosition;
        runFolds.delete(f.runId);
      }
      out.push(build((p) => `INSERT INTO ${runs} (run_id, root_id, parent_id, role, task, budget, status, created_at, started_at, ended_at,
          source, template_id, last_position)
        SELECT x.run_id, x.root_id, x.parent_id, x.role, x.task, x.budget, x.status, x.created_at, x.started_at, x.ended_at,
          x.source, x.template_id, x.last_position
        FROM jsonb_to_recordset(${p(spawns, 'jsonb')}) AS x(run_id text, root_id text, parent_id text, role text, task text, budget bigint,
          status text, created_at timestamptz, started_at timestamptz, ended_at timestamptz, source text, template_id text, last_position bigint)
        ON CONFLICT (run_id) DO NOTHING`));
    }
    if (runFolds.size > 0) {
      const rows = [...runFolds.values()].map((f) => ({ run_id: f.runId, sets: f.sets, started_at: f.startedAt, last_position: f.lastPosition }));
      out.push(build((p) => `UPDATE ${runs} r SET ${setFromFold('r', RUN_COLUMNS)}, started_at = coalesce(r.started_at, x.started_at),
          last_position = x.last_position
        FROM jsonb_to_recordset(${p(rows, 'jsonb')}) AS x(run_id text, sets jsonb, started_at timestamptz, last_position bigint)
        WHERE r.run_id = x.run_id`));
    }
    if (nodeFolds.size > 0) {
      const folds = [...nodeFolds.values()];
      // Stored nodes first: a node this batch inserts below is then not updated twice.
      out.push(build((p) => `UPDATE ${nodes} n SET ${setFromFold('n', NODE_COLUMNS)}, started_at = coalesce(n.started_at, x.started_at),
          last_position = x.last_position
        FROM jsonb_to_recordset(${p(folds.map((f) => ({ ...f.key, sets: f.sets, started_at: f.startedAt, last_position: f.lastPosition })), 'jsonb')})
          AS x(run_id text, node_id text, sets jsonb, started_at timestamptz, last_position bigint)
        WHERE n.run_id = x.run_id AND n.node_id = x.node_id`));
      out.push(build((p) => `INSERT INTO ${nodes} (run_id, node_id, role, budget_percent, dependencies, status, child_agent_id, attempt, budget,
          output_excerpt, error, started_at, ended_at, last_position)
        SELECT x.run_id, x.node_id, x.role, x.budget_percent, x.dependencies, x.status, x.child_agent_id, x.attempt, x.budget, x.output_excerpt,
          x.error, x.started_at, x.ended_at, x.last_position
        FROM jsonb_to_recordset(${p(folds.map((f) => ({ ...f.key, ...f.fresh, last_position: f.lastPosition })), 'jsonb')})
          AS x(run_id text, node_id text, role text, budget_percent float8, dependencies jsonb, status text, child_agent_id text, attempt int,
            budget bigint, output_excerpt text, error text, started_at timestamptz, ended_at timestamptz, last_position bigint)
        ON CONFLICT (run_id, node_id) DO NOTHING`));
    }
    spawns = [];
    runFolds = new Map();
    nodeFolds = new Map();
  };
  for (const e of events) {
    if (e.type === 'AgentSpawned') {
      if (e.data.kind !== 'workflow') continue;
      if (runFolds.has(e.data.agentId)) flush();
      const d = e.data;
      // Started in its opening (`started`): as an AgentStarted right after it would leave it.
      const started = d.started !== undefined;
      spawns.push({
        run_id: d.agentId, root_id: d.rootId, parent_id: d.parentId, role: d.role, task: excerpt(d.task), budget: d.budget, status: started ? 'running' : 'spawned',
        created_at: e.metadata.at, started_at: started ? e.metadata.at : null, ended_at: null, source: null, template_id: null, last_position: String(e.position),
      });
      continue;
    }
    const runId = agentIdOf(e.streamId);
    if (runId === null) continue;
    const position = String(e.position);
    const run = runWrite(e);
    if (run) {
      let f = runFolds.get(runId);
      if (!f) runFolds.set(runId, (f = { runId, sets: {}, startedAt: null, lastPosition: position }));
      Object.assign(f.sets, run.set);
      f.startedAt ??= run.startedAt ?? null;
      f.lastPosition = position;
    }
    for (const { nodeId, write } of nodeWrites(e)) {
      const key = `${runId}\u0000${nodeId}`;
      const f = nodeFolds.get(key);
      if (!f) {
        nodeFolds.set(key, { key: { run_id: runId, node_id: nodeId }, fresh: { ...NODE_DEFAULTS, ...write.insert }, sets: { ...write.set }, startedAt: write.startedAt ?? null, lastPosition: position });
        continue;
      }
      Object.assign(f.fresh, write.set);
      f.fresh.started_at ??= write.startedAt ?? null;
      Object.assign(f.sets, write.set);
      f.startedAt ??= write.startedAt ?? null;
      f.lastPosition = position;
    }
  }
  flush();
  return out;
}
