import { z } from 'zod';
import { InvalidInput, TimedOut } from '../errors.js';
import { revisionArg, toSafeNumber } from '../events/safeNumber.js';
import { AgentId } from '../events/schemas/common.js';
import { assertIdentifier, type SqlQueryable } from '../infra/sql/sqlClient.js';
import { parseInput } from '../validation.js';
import { overspent, type BudgetStatus } from '../actors/budget.js';
import { ledgerFold, type LedgerRow } from './ledgerOf.js';
import type { EventStore } from '../events/eventStore.js';
import { readActivity, readActivityThrough, type EventLogTable } from './activityFeed.js';
import { summarize } from './summarize.js';
import { projectionCheckpoint, subtreeJoin, treeDetail, type TreeDetailRow } from './treeDetail.js';
import { pendingApprovals, type PendingApprovalRow } from './pendingApprovals.js';

export type AgentStatus = 'spawned' | 'running' | 'waiting' | 'completed' | 'failed' | 'terminated';
export const AGENT_STATUSES: readonly AgentStatus[] = ['spawned', 'running', 'waiting', 'completed', 'failed', 'terminated'];

/** One agent in a tree listing. Token amounts, revisions and positions are numbers (JSON-safe). */
export interface TreeRow extends BudgetStatus {
  readonly agentId: string;
  readonly parentId: string | null;
  readonly rootId: string;
  readonly depth: number;
  readonly path: string;
  readonly kind: 'agent' | 'workflow';
  readonly role: string;
  readonly status: AgentStatus;
  readonly costUsd: number;
  readonly children: number;
  readonly createdAt: string;
  readonly endedAt: string | null;
}

export interface AgentRow extends TreeRow {
  readonly task: string;
  readonly nodeId: string | null;
  readonly model: string | null;
  readonly liveChildren: number;
  readonly callsInFlight: number;
  readonly modelCalls: number;
  readonly runRequestedAt: string | null;
  readonly startedAt: string | null;
  readonly deadline: string | null;
  readonly returned: number | null;
  /** Output (or partial output of a failure), truncated to 2,000 characters. */
  readonly output: string | null;
  readonly failureReason: string | null;
  readonly failureCause: string | null;
  readonly terminatedBy: string | null;
  readonly lastRevision: number;
  readonly lastPosition: number;
  readonly eventCount: number;
}

/** The actors' own budget status (same arithmetic, src/actors/budget.ts) plus its cost. */
export interface BudgetBalance extends BudgetStatus {
  readonly costUsd: number;
}

export interface BudgetReport extends BudgetBalance {
  readonly agentId: string;
  /** Totals over the agent and every descendant, when asked for with `{ subtree: true }`. */
  readonly subtree: { readonly agents: number; readonly consumed: number; readonly reserved: number; readonly costUsd: number } | null;
}

export interface RoleCostRow {
  readonly role: string;
  readonly agents: number;
  readonly consumed: number;
  readonly costUsd: number;
}

export interface ActivityRow {
  readonly position: number;
  readonly agentId: string;
  readonly revision: number;
  readonly type: string;
  readonly summary: string;
  readonly at: string;
}

export type StatusCounts = Readonly<Record<AgentStatus, number>>;

export interface ReportsOptions {
  /** Where the read models live (the runner's SqlClient). */
  readonly sql: SqlQueryable;
  readonly schema?: string;
  /** Lets `waitFor` follow the runner in this process; without it, checkpoints are polled. */
  readonly runner?: { waitFor(position: bigint | number, timeoutMs?: number): Promise<void> };
  /**
   * The event log's table, which `activity()` reads: default `sql` and `schema` (a Postgres store
   * sharing the read models' database); or, when the events are not in Postgres (EventStoreDB),
   * the store itself, walked through its port.
   */
  readonly events?: EventLogTable | { readonly store: Pick<EventStore, 'readStream' | 'readAll'> };
  /** The newest committed position (`committedHead(store)`), for `caughtUp`; without it `caughtUp` refuses. */
  readonly committedHead?: () => Promise<bigint>;
}

/** The queries behind `system.reports.*` (and the CLI). Every method validates its arguments. */
export interface Reports {
  /** The agent and its descendants, depth-first (parents before children, siblings by id). */
  tree(rootId: string, options?: { maxDepth?: number }): Promise<TreeRow[]>;
  agent(agentId: string): Promise<AgentRow | null>;
  children(agentId: string): Promise<TreeRow[]>;
  /** From the root down to the agent's parent. */
  ancestors(agentId: string): Promise<TreeRow[]>;
  budget(agentId: string, options?: { subtree?: boolean }): Promise<BudgetReport | null>;
  /** Budget movements of one agent, oldest first. */
  ledger(agentId: string, options?: { limit?: number }): Promise<LedgerRow[]>;
  /** Tokens and cost by role in one tree, or (no root) over every agent of the store. */
  costByRole(rootId?: string): Promise<RoleCostRow[]>;
  /** Agents not yet ended (spawned, running or waiting), oldest first; `rootId`: of that tree only. */
  active(options?: { limit?: number; rootId?: string }): Promise<TreeRow[]>;
  /** Tool calls waiting for a person's approval, oldest first; `rootId`: of that tree only. */
  approvals(options?: { limit?: number; rootId?: string }): Promise<PendingApprovalRow[]>;
  /** `since`: a position (exclusive) or a time; without it, the latest `limit` events. Oldest first. */
  activity(options?: { since?: bigint | number | string | Date; limit?: number; agentId?: string }): Promise<ActivityRow[]>;
  statusCounts(rootId?: string): Promise<StatusCounts>;
  /** The agent and its descendants with what a tree view shows (unordered: each row lists its children in spawn order). */
  treeDetail(rootId: string): Promise<TreeDetailRow[]>;
  /** A projection's table version and applied position; null if it was never set up on this store. */
  checkpoint(name: string): Promise<{ version: number; position: bigint } | null>;
  /** Resolves once every projection has applied `position` (a number or a bigint): read your writes. */
  waitFor(position: bigint | number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once every projection has applied every event committed before the call: after
   * `await agent.run()`, the reports show the run. (`waitFor(await store.headPosition())` may
   * return early: that head trails a commit while any other transaction is open.)
   */
  caughtUp(timeoutMs?: number): Promise<void>;
}

/** Events read per page of an agent's stream for its ledger. */
const LEDGER_PAGE = 1000;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : typeof v === 'string' && ISO_UTC.test(v) ? v : new Date(String(v)).toISOString());
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));
const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(String(v)));
/** A revision or position read back as a number (exact, or refused naming the field). */
const safe = (v: unknown, field: string): number => toSafeNumber(big(v), field);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

type Row = Record<string, unknown>;

/** budget.ts `overspent` over a read-model row: one arithmetic for actors and projections. */
const overspentOfRow = (r: Row): number =>
  overspent({ allocated: num(r.allocated), consumed: num(r.consumed), reserved: num(r.reserved), delegated: num(r.delegated), spentBySubtree: num(r.spent_by_subtree) });

/** A timestamp as `Date#toISOString()` writes it, made by Postgres: listings skip the driver's slow date parsing. */
const isoText = (col: string): string => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const TREE_COLS = `a.agent_id, a.parent_id, a.root_id, a.depth, a.path, a.kind, a.role, a.status, a.allocated, a.consumed,
  a.reserved, a.delegated, a.spent_by_subtree, a.reclaimed, a.available, a.cost_usd, a.children,
  ${isoText('a.created_at')} AS created_at, ${isoText('a.ended_at')} AS ended_at`;

function treeRow(r: Row): TreeRow {
  return {
    agentId: String(r.agent_id),
    parentId: str(r.parent_id),
    rootId: String(r.root_id),
    depth: num(r.depth),
    path: String(r.path),
    kind: r.kind as TreeRow['kind'],
    role: String(r.role),
    status: r.status as AgentStatus,
    allocated: num(r.allocated),
    consumed: num(r.consumed),
    reserved: num(r.reserved),
    delegated: num(r.delegated),
    spentBySubtree: num(r.spent_by_subtree),
    reclaimed: num(r.reclaimed),
    available: num(r.available),
    overspent: overspentOfRow(r),
    costUsd: num(r.cost_usd),
    children: num(r.children),
    createdAt: iso(r.created_at),
    endedAt: isoOrNull(r.ended_at),
  };
}

function agentRow(r: Row): AgentRow {
  return {
    ...treeRow(r),
    task: String(r.task),
    nodeId: str(r.node_id),
    model: str(r.model),
    liveChildren: num(r.live_children),
    callsInFlight: num(r.calls_in_flight),
    modelCalls: num(r.model_calls),
    runRequestedAt: isoOrNull(r.run_requested_at),
    startedAt: isoOrNull(r.started_at),
    deadline: isoOrNull(r.deadline),
    returned: numOrNull(r.returned),
    output: str(r.output),
    failureReason: str(r.failure_reason),
    failureCause: str(r.failure_cause),
    terminatedBy: str(r.terminated_by),
    lastRevision: safe(r.last_revision, 'lastRevision'),
    lastPosition: safe(r.last_position, 'lastPosition'),
    eventCount: num(r.event_count),
  };
}

const Limit = z.number().int().min(1).max(100_000);
const TreeOptions = z.object({ maxDepth: z.number().int().min(0).optional() }).strict();
const BudgetOptions = z.object({ subtree: z.boolean().optional() }).strict();
const LimitOptions = z.object({ limit: Limit.optional() }).strict();
const ActiveOptions = z.object({ limit: Limit.optional(), rootId: AgentId.optional() }).strict();
const ActivityOptions = z
  .object({
    since: z.union([z.bigint().nonnegative(), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.iso.datetime({ offset: true }), z.date()]).optional(),
    limit: Limit.optional(),
    agentId: AgentId.optional(),
  })
  .strict();
const Timeout = z.number().int().positive().optional();

/**
 * Typed queries over the read models. They read the views the runner keeps pointed at the
 * active table generation, so a rebuild never shows them a half-built table.
 *
 * @example
 * const reports = createReports({ sql, schema: 'cadre', runner });
 * await reports.waitFor(position);
 * for (const row of await reports.tree(rootId)) console.log('  '.repeat(row.depth) + row.role, row.status);
 */
export function createReports(options: ReportsOptions): Reports {
  const s = assertIdentifier(options.schema ?? 'cadre');
  const sql = options.sql;
  const events = options.events === undefined ? { sql, schema: s } : options.events;
  const id = (value: unknown, field: string): string => parseInput(AgentId, value, field);
  const subtreeFrom = subtreeJoin(s);

  /** Resolves once every projection has applied `position`. */
  async function waitFor(position: bigint | number, timeoutMs: number | undefined): Promise<void> {
    const target = revisionArg(position, 'position');
    if (target < 0n) throw new InvalidInput('position', 'must be 0 or more');
    const timeout = parseInput(Timeout, timeoutMs, 'timeoutMs') ?? 10_000;
    if (options.runner) return options.runner.waitFor(target, timeout);
    // A timer, as the runner's own waitFor: elapsed time, not a reading of the wall clock.
    let timedOut = false;
    const timer = setTimeout(() => (timedOut = true), timeout);
    try {
      for (;;) {
        const r = await sql.query<Row>(`SELECT min(position) AS p FROM ${s}.projection_checkpoints`);
        const p = r.rows[0]?.p;
        if (p !== null && p !== undefined && big(p) >= target) return;
        if (timedOut) throw new TimedOut(`projections reaching position ${target}`, timeout);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async tree(rootId, opts = {}) {
      const root = id(rootId, 'rootId');
      const o = parseInput(TreeOptions, opts, 'options');
      const r = await sql.query<Row>(
        `SELECT ${TREE_COLS} ${subtreeFrom} WHERE s.agent_id = $1 AND ($2::int IS NULL OR a.depth <= s.depth + $2::int) ORDER BY a.path`,
        [root, o.maxDepth ?? null],
      );
      return r.rows.map(treeRow);
    },
    treeDetail: async (rootId) => treeDetail(sql, s, id(rootId, 'rootId')),
    checkpoint: async (name) => projectionCheckpoint(sql, s, name),
    async agent(agentId) {
      const r = await sql.query<Row>(`SELECT a.* FROM ${s}.agents a WHERE a.agent_id = $1`, [id(agentId, 'agentId')]);
      return r.rows[0] ? agentRow(r.rows[0]) : null;
    },
    async children(agentId) {
      const r = await sql.query<Row>(`SELECT ${TREE_COLS} FROM ${s}.agents a WHERE a.parent_id = $1 ORDER BY a.path`, [id(agentId, 'agentId')]);
      return r.rows.map(treeRow);
    },
    async ancestors(agentId) {
      const r = await sql.query<Row>(
        `SELECT ${TREE_COLS} FROM ${s}.agents s JOIN ${s}.agents a
           ON a.agent_id = ANY (string_to_array(trim(both '/' from s.path), '/')) AND a.agent_id <> s.agent_id
         WHERE s.agent_id = $1 ORDER BY a.depth`,
        [id(agentId, 'agentId')],
      );
      return r.rows.map(treeRow);
    },
    async budget(agentId, opts = {}) {
      const agent = id(agentId, 'agentId');
      const o = parseInput(BudgetOptions, opts, 'options');
      const r = await sql.query<Row>(
        `SELECT agent_id, parent_id, allocated, consumed, reserved, delegated, spent_by_subtree, reclaimed, available, cost_usd
           FROM ${s}.agents WHERE agent_id = $1`,
        [agent],
      );
      const row = r.rows[0];
      if (!row) return null;
      let subtree: BudgetReport['subtree'] = null;
      if (o.subtree) {
        // A whole tree has its totals kept as it changes; a subtree within one is summed.
        const t = row.parent_id === null
          ? await sql.query<Row>(`SELECT agents, consumed, reserved, cost_usd FROM ${s}.agent_tree_totals WHERE root_id = $1`, [agent])
          : await sql.query<Row>(
              `SELECT count(*) AS agents, coalesce(sum(a.consumed), 0) AS consumed, coalesce(sum(a.reserved), 0) AS reserved,
                  coalesce(sum(a.cost_usd), 0) AS cost_usd ${subtreeFrom} WHERE s.agent_id = $1`,
              [agent],
            );
        const x = t.rows[0] ?? {};
        subtree = { agents: num(x.agents), consumed: num(x.consumed), reserved: num(x.reserved), costUsd: num(x.cost_usd) };
      }
      return {
        agentId: agent,
        allocated: num(row.allocated),
        consumed: num(row.consumed),
        reserved: num(row.reserved),
        delegated: num(row.delegated),
        spentBySubtree: num(row.spent_by_subtree),
        reclaimed: num(row.reclaimed),
        available: num(row.available),
        overspent: overspentOfRow(row),
        costUsd: num(row.cost_usd),
        subtree,
      };
    },
    async ledger(agentId, opts = {}) {
      const agent = id(agentId, 'agentId');
      const o = parseInput(LimitOptions, opts, 'options');
      const limit = o.limit ?? 1000;
      // Derived from the agent's stream a page at a time, until `limit` movements: a movement
      // depends only on the ones before it.
      const fold = ledgerFold(agent);
      for (let since = 0n; ;) {
        const q = { since, limit: LEDGER_PAGE, agentId: agent };
        const page = 'store' in events ? await readActivityThrough(events.store, q) : await readActivity(events, q);
        fold.add(page.map((p) => p.event));
        if (page.length < LEDGER_PAGE || fold.rows.length >= limit) return fold.rows.slice(0, limit);
        since = page[page.length - 1]!.event.position;
      }
    },
    async costByRole(rootId) {
      const cols = `a.role, count(*) AS agents, coalesce(sum(a.consumed), 0) AS consumed, coalesce(sum(a.cost_usd), 0) AS cost_usd`;
      const order = `GROUP BY a.role ORDER BY sum(a.consumed) DESC, a.role`;
      const r = rootId === undefined
        ? await sql.query<Row>(`SELECT ${cols} FROM ${s}.agents a ${order}`)
        : await sql.query<Row>(`SELECT ${cols} ${subtreeFrom} WHERE s.agent_id = $1 ${order}`, [id(rootId, 'rootId')]);
      return r.rows.map((x) => ({ role: String(x.role), agents: num(x.agents), consumed: num(x.consumed), costUsd: num(x.cost_usd) }));
    },
    async active(opts = {}) {
      const o = parseInput(ActiveOptions, opts, 'options');
      const r = await sql.query<Row>(
        `SELECT ${TREE_COLS} FROM ${s}.agents a WHERE a.ended_status IS NULL AND ($2::text IS NULL OR a.root_id = $2)
          ORDER BY a.created_at, a.agent_id LIMIT $1`,
        [o.limit ?? 1000, o.rootId ?? null],
      );
      return r.rows.map(treeRow);
    },
    async approvals(opts = {}) {
      const o = parseInput(ActiveOptions, opts, 'options');
      return pendingApprovals(sql, s, { limit: o.limit ?? 1000, ...(o.rootId ? { rootId: o.rootId } : {}) });
    },
    async activity(opts = {}) {
      const o = parseInput(ActivityOptions, opts, 'options');
      const q = { since: o.since, limit: o.limit ?? 100, agentId: o.agentId };
      const rows = 'store' in events ? await readActivityThrough(events.store, q) : await readActivity(events, q);
      return rows.map(({ event, at }) => ({
        position: safe(event.position, 'position'),
        agentId: event.streamId.slice('agent-'.length),
        revision: safe(event.revision, 'revision'),
        type: event.type,
        summary: summarize(event),
        at: iso(at),
      }));
    },
    async statusCounts(rootId) {
      const root = rootId === undefined ? undefined : id(rootId, 'rootId');
      // A tree's counts are columns of its totals row (agentTreeTotals.ts): summed over every tree, or its own.
      const sums = AGENT_STATUSES.map((st) => `coalesce(sum(${st}), 0) AS ${st}`).join(', ');
      const r = root === undefined
        ? await sql.query<Row>(`SELECT ${sums} FROM ${s}.agent_tree_totals`)
        : await sql.query<Row>(`SELECT ${sums} FROM ${s}.agent_tree_totals WHERE root_id = $1`, [root]);
      const x = r.rows[0] ?? {};
      return Object.fromEntries(AGENT_STATUSES.map((st) => [st, num(x[st] ?? 0)])) as Record<AgentStatus, number>;
    },
    async caughtUp(timeoutMs) {
      if (!options.committedHead) throw new InvalidInput('committedHead', 'caughtUp needs the store: createReports({ committedHead: () => committedHead(store) })');
      await waitFor(await options.committedHead(), timeoutMs);
    },
    waitFor,
  };
}
