import type { ParsedEvent } from '../../events/upcast.js';
import { agentIdOf, indexName, physicalTable, type Projection, type SqlStatement, type TableNames } from '../projection.js';
import { build } from '../sqlBuilder.js';

/**
 * Tool calls parked for a person's approval, one row each, from ApprovalRequested until it is
 * answered or its agent ends (an ended agent's parked call is void). What `cadre approvals`, the
 * dashboard and `system.reports.approvals()` list, without loading any agent.
 */
export const approvalsProjection: Projection = {
  name: 'approvals',
  version: 1,
  tables: ['pending_approvals'],
  migrations(schema, suffix) {
    const t = physicalTable(schema, 'pending_approvals', suffix);
    return [
      `CREATE TABLE ${t} (
        agent_id text NOT NULL,
        call_id text NOT NULL,
        tool text NOT NULL,
        input jsonb,
        requested_at timestamptz NOT NULL,
        expires_at timestamptz,
        position bigint NOT NULL,
        PRIMARY KEY (agent_id, call_id)
      )`,
      `CREATE INDEX ${indexName('pending_approvals', suffix, 'requested')} ON ${t} (requested_at)`,
    ];
  },
  handle(e, t) {
    const agentId = agentIdOf(e.streamId);
    if (!agentId) return [];
    switch (e.type) {
      case 'ApprovalRequested':
        return [{
          text: `INSERT INTO ${t.pending_approvals} (agent_id, call_id, tool, input, requested_at, expires_at, position)
                 VALUES ($1::text, $2::text, $3::text, $4::jsonb, $5::timestamptz, $6::timestamptz, $7::bigint) ON CONFLICT DO NOTHING`,
          params: [agentId, e.data.callId, e.data.tool, JSON.stringify(e.data.input ?? null), e.data.requestedAt, e.data.expiresAt, e.position.toString()],
        }];
      case 'ApprovalGranted':
      case 'ApprovalDenied':
        return [{ text: `DELETE FROM ${t.pending_approvals} WHERE agent_id = $1::text AND call_id = $2::text`, params: [agentId, e.data.callId] }];
      case 'AgentCompleted':
      case 'AgentFailed':
      case 'AgentTerminated':
        return [{ text: `DELETE FROM ${t.pending_approvals} WHERE agent_id = $1::text`, params: [agentId] }];
      default:
        return [];
    }
  },
  handleBatch: (events, t) => foldApprovals(events, t),
};

/** A parked call's row as the batch leaves it: gone, inserted, or inserted unless already stored. */
type KeyState = { readonly kind: 'absent' } | { readonly kind: 'present' | 'presentIfAbsent'; readonly row: Record<string, unknown> };

/**
 * A batch in two statements, leaving what `handle` event by event leaves: one DELETE (the rows
 * of agents that ended, and of calls answered), then one INSERT … ON CONFLICT DO NOTHING (calls
 * parked and still unanswered at the batch's end). A key's state starts unknown (the table
 * decides: ON CONFLICT), or absent once its agent's end deleted every row of it.
 */
function foldApprovals(events: readonly ParsedEvent[], t: TableNames): SqlStatement[] {
  const keys = new Map<string, KeyState>();
  const ended = new Set<string>();
  for (const e of events) {
    const agentId = agentIdOf(e.streamId);
    if (!agentId) continue;
    if (e.type === 'AgentCompleted' || e.type === 'AgentFailed' || e.type === 'AgentTerminated') {
      ended.add(agentId);
      for (const k of keys.keys()) if (k.startsWith(`${agentId}\u0000`)) keys.set(k, { kind: 'absent' });
      continue;
    }
    if (e.type !== 'ApprovalRequested' && e.type !== 'ApprovalGranted' && e.type !== 'ApprovalDenied') continue;
    const key = `${agentId}\u0000${e.data.callId}`;
    const was = keys.get(key) ?? (ended.has(agentId) ? { kind: 'absent' as const } : undefined);
    if (e.type !== 'ApprovalRequested') keys.set(key, { kind: 'absent' });
    else if (!was || was.kind === 'absent') {
      const row = { agent_id: agentId, call_id: e.data.callId, tool: e.data.tool, input: e.data.input ?? null, requested_at: e.data.requestedAt, expires_at: e.data.expiresAt, position: e.position.toString() };
      keys.set(key, { kind: was ? 'present' : 'presentIfAbsent', row });
    }
  }
  const out: SqlStatement[] = [];
  // Deleted by key: a call answered (absent), or answered and parked again (present: its stored
  // row must go before the new one goes in); an ended agent's rows all go.
  const gone = [...keys].filter(([k, v]) => v.kind !== 'presentIfAbsent' && !ended.has(k.split('\u0000')[0]!)).map(([k]) => k.split('\u0000'));
  // Two statements, each by key: one with an OR of the two sets read the whole table.
  if (ended.size > 0) out.push(build((p) => `DELETE FROM ${t.pending_approvals} WHERE agent_id = ANY(ARRAY(SELECT jsonb_array_elements_text(${p([...ended], 'jsonb')})))`));
  if (gone.length > 0) {
    out.push(build((p) => `DELETE FROM ${t.pending_approvals} d USING jsonb_to_recordset(${p(gone.map(([a, c]) => ({ a, c })), 'jsonb')}) AS x(a text, c text)
      WHERE d.agent_id = x.a AND d.call_id = x.c`));
  }
  const rows = [...keys.values()].flatMap((v) => (v.kind === 'absent' ? [] : [v.row]));
  if (rows.length > 0) {
    out.push(build((p) => `INSERT INTO ${t.pending_approvals} (agent_id, call_id, tool, input, requested_at, expires_at, position)
      SELECT x.agent_id, x.call_id, x.tool, x.input, x.requested_at, x.expires_at, x.position
        FROM jsonb_to_recordset(${p(rows, 'jsonb')}) AS x(agent_id text, call_id text, tool text, input jsonb, requested_at timestamptz, expires_at timestamptz, position bigint)
      ON CONFLICT DO NOTHING`));
  }
  return out;
}
