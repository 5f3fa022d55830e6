import type { SqlQueryable } from '../infra/sql/sqlClient.js';

/** A tool call waiting for a person, as `cadre approvals` lists it. */
export interface PendingApprovalRow {
  readonly agentId: string;
  readonly role: string | null;
  readonly rootId: string | null;
  readonly callId: string;
  readonly tool: string;
  readonly input: unknown;
  readonly requestedAt: string;
  readonly expiresAt: string | null;
}

/**
 * The calls parked for approval, oldest first, with their agent's role and root (from the agents
 * read model); `rootId`: of that tree only.
 */
export async function pendingApprovals(sql: SqlQueryable, s: string, options: { rootId?: string; limit: number }): Promise<PendingApprovalRow[]> {
  const r = await sql.query<Record<string, unknown>>(
    `SELECT p.agent_id, a.role, a.root_id, p.call_id, p.tool, p.input, p.requested_at, p.expires_at
       FROM ${s}.pending_approvals p LEFT JOIN ${s}.agents a ON a.agent_id = p.agent_id
      WHERE $1::text IS NULL OR a.root_id = $1::text
      ORDER BY p.requested_at, p.agent_id, p.call_id LIMIT $2::int`,
    [options.rootId ?? null, options.limit],
  );
  return r.rows.map((x) => ({
    agentId: String(x.agent_id),
    role: x.role === null ? null : String(x.role),
    rootId: x.root_id === null ? null : String(x.root_id),
    callId: String(x.call_id),
    tool: String(x.tool),
    input: x.input,
    requestedAt: new Date(x.requested_at as string).toISOString(),
    expiresAt: x.expires_at === null ? null : new Date(x.expires_at as string).toISOString(),
  }));
}
