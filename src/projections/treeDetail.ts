import type { SqlQueryable } from '../infra/sql/sqlClient.js';
import { toSafeNumber } from '../events/safeNumber.js';
import { overspent, type BudgetStatus } from '../actors/budget.js';
import { PATH_KEY } from './readModels/agents.js';

/**
 * The subtree of `s` as a range over the C-collated path: `/a/b/` ≤ path < `/a/b0`. The path
 * range is the subtree; the same range on left(path, PATH_KEY) is implied by it (a prefix cut
 * keeps C-collation order) and is what the index can answer.
 *
 * @example
 * `SELECT count(*) ${subtreeJoin('cadre')} WHERE s.agent_id = $1`
 */
export const subtreeJoin = (s: string): string => `FROM ${s}.agents s JOIN ${s}.agents a ON a.root_id = s.root_id AND a.path >= s.path AND a.path < left(s.path, -1) || '0'
    AND left(a.path, ${PATH_KEY}) >= left(s.path, ${PATH_KEY}) AND left(a.path, ${PATH_KEY}) <= left(left(s.path, -1) || '0', ${PATH_KEY})`;

/** One agent of a subtree with what a tree view shows of it (text columns are the read model's excerpts). */
export interface TreeDetailRow {
  readonly agentId: string;
  readonly parentId: string | null;
  readonly depth: number;
  readonly kind: 'agent' | 'workflow';
  readonly role: string;
  readonly task: string;
  /** The terminal status, or null while it has not ended. */
  readonly endedStatus: 'completed' | 'failed' | 'terminated' | null;
  /** The read model's status: the ended one, else `spawned`, `waiting` or `running` as its columns say. */
  readonly status: string;
  readonly budget: BudgetStatus;
  readonly costUsd: number;
  readonly nodeId: string | null;
  readonly workspace: { path: string; branch: string } | null;
  readonly output: string | null;
  readonly failureReason: string | null;
  readonly lastRevision: number;
  /** Its children's ids in the order its stream recorded them. */
  readonly childOrder: readonly string[];
  /** Its parent still holds its delegation (has not taken back its remainder); false for the subtree's root, whose parent is not read. */
  readonly heldByParent: boolean;
}

type Row = Record<string, unknown>;
/** jsonb as the driver hands it: parsed (pg) or text. */
const asJson = (v: unknown): unknown => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * Every agent under `rootId` (itself included), unordered; [] when it has no row. One query for a
 * whole tree, two for a subtree below its root.
 *
 * @example
 * const rows = await treeDetail(sql, 'cadre', rootId);
 */
export async function treeDetail(sql: SqlQueryable, s: string, rootId: string): Promise<TreeDetailRow[]> {
  const cols = `a.agent_id, a.parent_id, a.depth, a.kind, a.role, a.task, a.ended_status, a.status, a.allocated, a.consumed, a.reserved,
    a.delegated, a.spent_by_subtree, a.reclaimed, a.available, a.cost_usd, a.node_id, a.workspace_path, a.workspace_branch,
    a.output, a.failure_reason, a.last_revision, a.child_order, a.delegations`;
  // A whole tree (what `cadre tree` shows) is every row of its root: a query planned in a fraction
  // of the subtree join's time, which is most of a small tree's read.
  let r = await sql.query<Row>(`SELECT ${cols} FROM ${s}.agents a WHERE a.root_id = $1`, [rootId]);
  if (r.rows.length === 0) r = await sql.query<Row>(`SELECT ${cols} ${subtreeJoin(s)} WHERE s.agent_id = $1`, [rootId]);
  const delegationsOf = new Map(r.rows.map((x) => [String(x.agent_id), asJson(x.delegations)]));
  return r.rows.map((x) => {
    const ledger = { allocated: num(x.allocated), consumed: num(x.consumed), reserved: num(x.reserved), delegated: num(x.delegated), spentBySubtree: num(x.spent_by_subtree) };
    const order = asJson(x.child_order);
    const parentHolds = delegationsOf.get(String(x.parent_id));
    return {
      agentId: String(x.agent_id),
      parentId: str(x.parent_id),
      depth: num(x.depth),
      kind: x.kind as TreeDetailRow['kind'],
      role: String(x.role),
      task: String(x.task),
      endedStatus: str(x.ended_status) as TreeDetailRow['endedStatus'],
      status: String(x.status),
      // The key order of budget.ts `budgetStatus`: JSON output prints the same either way.
      budget: { ...ledger, reclaimed: num(x.reclaimed), available: num(x.available), overspent: overspent(ledger) },
      costUsd: num(x.cost_usd),
      nodeId: str(x.node_id),
      workspace: x.workspace_path !== null && x.workspace_path !== undefined ? { path: String(x.workspace_path), branch: String(x.workspace_branch) } : null,
      output: str(x.output),
      failureReason: str(x.failure_reason),
      lastRevision: toSafeNumber(BigInt(String(x.last_revision)), 'lastRevision'),
      childOrder: Array.isArray(order) ? order.map(String) : [],
      heldByParent: typeof parentHolds === 'object' && parentHolds !== null && String(x.agent_id) in parentHolds,
    };
  });
}

/**
 * A projection's checkpoint: the version its tables were built by and the position applied so
 * far; null when it was never set up here (no process has run projections on this store).
 *
 * @example
 * const cp = await projectionCheckpoint(sql, 'cadre', 'agents');
 * const current = cp !== null && cp.position >= (await committedHead(store));
 */
export async function projectionCheckpoint(sql: SqlQueryable, s: string, name: string): Promise<{ version: number; position: bigint } | null> {
  const r = await sql.query<Row>(
    `SELECT version, position FROM ${s}.projection_checkpoints WHERE name = $1`,
    [name],
  ).catch((err: unknown) => {
    // No projections table yet (42P01): nothing projected, which the caller treats as behind.
    if ((err as { code?: string }).code === '42P01') return { rows: [] as Row[] };
    throw err;
  });
  const row = r.rows[0];
  return row ? { version: Number(row.version), position: BigInt(String(row.position)) } : null;
}
