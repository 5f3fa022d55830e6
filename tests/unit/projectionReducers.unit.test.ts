import { describe, expect, it } from 'vitest';
import { eventSchemas, type EventType } from '../../src/events/catalogue.js';
import { parseRecorded, type ParsedEvent } from '../../src/events/upcast.js';
import { castsEveryParam, encodeBatch, paramText } from '../../src/projections/applyStatements.js';
import { batchStatements, excerpt, tableNames } from '../../src/projections/projection.js';
import { agentsMovingTotals } from '../../src/projections/readModels/agentTreeTotals.js';
import { ledgerOf } from '../../src/projections/ledgerOf.js';
import { agentsProjection, defaultProjections, summarize, workflowsProjection } from '../../src/projections/readModels/index.js';

const usage = { inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheCreationTokens: 0 };
const samples: Record<EventType, unknown> = {
  AgentSpawned: { agentId: 'a1', parentId: 'p', rootId: 'p', depth: 1, kind: 'workflow', role: 'coder', task: 'do it', budget: 500, workspace: null, timeoutMs: null, maxTurns: 3, model: null },
  AgentRunRequested: {},
  AgentStarted: { deadline: null },
  ChildSpawned: { childId: 'c1', role: 'r', task: 't', budget: 10, kind: 'agent', spec: null },
  ChildFinished: { childId: 'c1', status: 'completed', output: null },
  AgentCompleted: { output: 'done', returned: 5 },
  AgentFailed: { reason: 'x', partialOutput: null, returned: 5, cause: 'timeout' },
  AgentTerminated: { reason: 'fired', by: 'p', returned: 5 },
  AgentTimedOut: { deadline: '2026-01-01T00:00:00.000Z' },
  AgentTerminating: { reason: 'stop', by: null },
  BudgetReserved: { reservationId: 'r1', amount: 40 },
  BudgetSettled: { reservationId: 'r1', consumed: 30, model: 'm', costUsd: 0.25 },
  BudgetReleased: { reservationId: 'r1', reason: 'failed' },
  BudgetDelegated: { childId: 'c1', amount: 10 },
  BudgetReclaimed: { childId: 'c1', allocated: 10, returned: 4, spent: 6, overspent: 0 },
  BudgetOverspent: { reservationId: 'r1', reserved: 10, consumed: 15, excess: 5 },
  ModelRequested: { callId: 'k', turn: 0, provider: 'offline', model: 'm', requestRef: 'h', reserved: 40 },
  ModelReplied: { callId: 'k', model: 'm', content: [], stopReason: 'end_turn', usage, costUsd: 0 },
  ModelFailed: { callId: 'k', error: 'e', retryable: true },
  ToolCalled: { toolUseId: 't', name: 'n', input: {} },
  ToolReturned: { toolUseId: 't', name: 'n', output: 'o', isError: false },
  ApprovalRequested: { callId: 't', tool: 'n', input: {}, requestedAt: '2026-01-01T00:00:00.000Z', expiresAt: null },
  ApprovalGranted: { callId: 't', by: 'ops' },
  ApprovalDenied: { callId: 't', reason: 'no', by: null },
  MessageSent: { messageId: 'm', to: 'b', payload: 1, priority: 1, dedupeKey: null },
  MessageReceived: { messageId: 'm', from: 'b', attempt: 1 },
  MessageAcked: { messageId: 'm' },
  WorkspaceCreated: { path: '/w', branch: 'agents/a1', baseBranch: 'main', baseCommit: 'abc' },
  WorkspaceCommitted: { commit: 'abcdef0123', files: ['a'] },
  WorkspaceMerged: { childId: 'c1', branch: 'b', commit: null, files: [] },
  WorkspaceMergeConflicted: { childId: 'c1', branch: 'b', files: ['x'] },
  WorkspaceRemoved: { path: '/w', branchDeleted: true },
  WorkflowPlanned: { source: 'template', templateId: 'tdd', graph: { nodes: [{ id: 'n1', role: 'coder', budgetPercent: 50, dependencies: [] }, { id: 'n2', role: 'tester', dependencies: ['n1'] }] } },
  NodeStarted: { nodeId: 'n1', childId: 'c1', attempt: 1, budget: 10 },
  NodeCompleted: { nodeId: 'n1', childId: 'c1', output: 'out' },
  NodeFailed: { nodeId: 'n1', childId: 'c1', attempt: 1, reason: 'r', willRetry: true },
  NodeSkipped: { nodeId: 'n2', reason: 'dep failed' },
  WorkflowPlanRejected: { attempt: 1, answer: '{"nodes":[]}', problems: 'plan.nodes: at least 1 node' },
};

const parsed = (type: EventType, streamId = 'agent-a1'): ParsedEvent =>
  parseRecorded({
    id: '00000000-0000-4000-8000-000000000001', type, data: samples[type], streamId, revision: 3n, position: 77n,
    metadata: { correlationId: 'c', causationId: 'c', schemaVersion: 1, at: '2026-01-02T03:04:05.000Z' },
  });

const names = (p: typeof agentsProjection) => tableNames(p, 'cadre', 'v1_r0');

describe('projection reducers', () => {
  it('have a sample for every event type', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(eventSchemas).sort());
  });

  it('cast every parameter explicitly and number them without gaps', () => {
    for (const p of defaultProjections()) {
      for (const type of Object.keys(samples) as EventType[]) {
        for (const s of p.handle(parsed(type), names(p))) {
          expect(castsEveryParam(s.text), `${p.name}/${type}: ${s.text}`).toBe(true);
          const used = new Set([...s.text.matchAll(/\$(\d+)::/g)].map((m) => Number(m[1])));
          expect([...used].sort((a, b) => a - b), `${p.name}/${type}`).toEqual(s.params.map((_, i) => i + 1));
          expect(s.text).not.toMatch(/cadre\.(agents|activity|workflow_runs|workflow_nodes)\b(?!_v1_r0)/);
        }
      }
    }
  });

  it('agents: a spawn inserts the row with its materialised path; a settle closes its reservation', () => {
    const [spawn] = agentsProjection.handle(parsed('AgentSpawned'), names(agentsProjection));
    expect(spawn!.text).toMatch(/^INSERT INTO cadre\.agents_v1_r0/);
    expect(spawn!.text).toContain(`coalesce((SELECT a.path FROM cadre.agents_v1_r0 a WHERE a.agent_id = x.base), '/') || x.suffix`);
    expect(spawn!.params[0]).toMatchObject([{ agent_id: 'a1', parent_id: 'p', root_id: 'p', depth: 1, base: 'p', suffix: 'a1/' }]);
    const [settle] = agentsProjection.handle(parsed('BudgetSettled'), names(agentsProjection));
    expect(settle!.text).toMatch(/reserved = reserved - coalesce\(\(reservations ->> \$1::text\)::bigint, 0\)/);
    expect(settle!.params).toEqual(['r1', 30, 0.25, 3n, 77n, 'a1']);
  });

  it('agents ignore streams that are not agents', () => {
    expect(agentsProjection.handle(parsed('AgentStarted', 'other-1'), names(agentsProjection))).toEqual([]);
  });

  it('ledger: one row per budget movement, none for other events', () => {
    const kinds = (Object.keys(samples) as EventType[]).flatMap((t) => ledgerOf('a1', [parsed(t)]).map((row) => [t, row.kind]));
    expect(kinds).toEqual([
      ['AgentSpawned', 'allocated'], ['BudgetReserved', 'reserved'], ['BudgetSettled', 'settled'], ['BudgetReleased', 'released'],
      ['BudgetDelegated', 'delegated'], ['BudgetReclaimed', 'reclaimed'], ['BudgetOverspent', 'overspent'],
    ]);
  });

  it('ledger: a v2 ModelRequested reserves and a v2 ModelReplied settles, as the BudgetReserved and BudgetSettled beside v1 did', () => {
    const v2 = (type: 'ModelRequested' | 'ModelReplied', data: Record<string, unknown>): ParsedEvent => parseRecorded({
      id: '00000000-0000-4000-8000-000000000002', type, data: { ...(samples[type] as object), ...data }, streamId: 'agent-a1', revision: 4n, position: 78n,
      metadata: { correlationId: 'c', causationId: 'c', schemaVersion: 2, at: '2026-01-02T03:04:05.000Z' },
    });
    const request = v2('ModelRequested', { reserves: true });
    expect(ledgerOf('a1', [request])).toMatchObject([{ kind: 'reserved', amount: 40, ref: 'k', held: 0 }]);
    // The reply closes the reservation it follows: held is what that request reserved.
    expect(ledgerOf('a1', [request, v2('ModelReplied', { settles: true, costUsd: 0.25 })])[1]).toEqual({
      position: 78, agentId: 'a1', revision: 4, kind: 'settled', amount: usage.inputTokens + usage.outputTokens, held: 40, spent: 0,
      ref: 'k', counterparty: null, model: 'm', costUsd: 0.25, at: '2026-01-02T03:04:05.000Z',
    });
    // v1 (upcast to reserves/settles false) moves nothing: its BudgetReserved and BudgetSettled did.
    expect(ledgerOf('a1', [parsed('ModelRequested'), parsed('ModelReplied')])).toEqual([]);
    expect(() => v2('ModelRequested', {})).toThrow(/data\.reserves/);
  });

  it('ledger: a closing row holds what its entry still held; a release returns it; a reclaim splits the grant into returned and spent', () => {
    const e = (type: EventType, data: Record<string, unknown>, i: number): ParsedEvent => ({ ...parsed(type), data, revision: BigInt(i), position: BigInt(100 + i) }) as ParsedEvent;
    const rows = ledgerOf('a1', [
      e('BudgetReserved', { reservationId: 'r', amount: 100 }, 0),
      e('BudgetSettled', { reservationId: 'r', consumed: 30, model: 'm', costUsd: 0 }, 1),
      e('BudgetSettled', { reservationId: 'r', consumed: 5, model: 'm', costUsd: 0 }, 2), // closed already: holds nothing
      e('BudgetReserved', { reservationId: 'r', amount: 50 }, 3), // the same id again: a new entry
      e('BudgetReleased', { reservationId: 'r', reason: 'x' }, 4),
      e('BudgetDelegated', { childId: 'c', amount: 300 }, 5),
      e('BudgetReclaimed', { childId: 'c', returned: 275, overspent: 0 }, 6),
      e('BudgetDelegated', { childId: 'd', amount: 100 }, 7),
      e('BudgetReclaimed', { childId: 'd', returned: 0, overspent: 40 }, 8),
    ]);
    expect(rows.map((r) => [r.kind, r.amount, r.held, r.spent])).toEqual([
      ['reserved', 100, 0, 0], ['settled', 30, 100, 0], ['settled', 5, 0, 0], ['reserved', 50, 0, 0], ['released', 50, 50, 0],
      ['delegated', 300, 0, 0], ['reclaimed', 275, 300, 25], ['delegated', 100, 0, 0], ['reclaimed', 0, 100, 140],
    ]);
  });

  it('workflows: a plan inserts its nodes; a batch with node events recounts their runs once', () => {
    const t = names(workflowsProjection);
    expect(workflowsProjection.handle(parsed('WorkflowPlanned'), t)).toHaveLength(3);
    const recount = workflowsProjection.afterBatch!([parsed('WorkflowPlanned'), parsed('NodeStarted'), parsed('NodeFailed'), parsed('BudgetReserved')], t);
    expect(recount).toHaveLength(1);
    expect(recount[0]!.params[0]).toEqual([{ run_id: 'a1', position: '77' }]);
    expect(workflowsProjection.handle(parsed('NodeFailed'), t)[0]!.params).toContain('retrying');
    expect(workflowsProjection.handle(parsed('AgentSpawned'), t)).toHaveLength(1);
    expect(workflowsProjection.handle(parsed('BudgetReserved'), t)).toEqual([]);
  });

  it('activity: one readable line per event', () => {
    for (const type of Object.keys(samples) as EventType[]) expect(summarize(parsed(type)).length).toBeGreaterThan(3);
    expect(summarize(parsed('BudgetSettled'))).toBe('settled 30 tokens on m ($0.250000)');
  });
});

describe('batch encoding', () => {
  it('shares texts, rewrites placeholders over one text[] and turns parameters into text', () => {
    const batch = JSON.parse(encodeBatch([
      { text: 'UPDATE t SET n = $1::bigint WHERE id = $2::text', params: [5n, 'a'] },
      { text: 'UPDATE t SET n = $1::bigint WHERE id = $2::text', params: [6, null] },
      { text: 'INSERT INTO u VALUES ($1::jsonb, $10::int)', params: [{ x: 1 }, true] },
    ])) as { t: string[]; s: unknown[] };
    expect(batch.t).toEqual(['UPDATE t SET n = ($1[1])::bigint WHERE id = ($1[2])::text', 'INSERT INTO u VALUES (($1[1])::jsonb, ($1[10])::int)']);
    expect(batch.s).toEqual([[0, ['5', 'a']], [0, ['6', null]], [1, ['{"x":1}', 'true']]]);
    expect(castsEveryParam('SELECT $1')).toBe(false);
    expect(castsEveryParam('SELECT $1::int, $12::text')).toBe(true);
    expect(paramText(new Date('2026-01-01T00:00:00Z'))).toBe('2026-01-01T00:00:00.000Z');
  });

  it('excerpts never split a surrogate pair', () => {
    expect(excerpt('abc', 5)).toBe('abc');
    expect(excerpt('a😀😀', 3)).toBe('a…');
    expect(excerpt(null)).toBeNull();
  });

  it('agents: one UPDATE per batch, and the tree totals recounted once, for the agents whose totals moved', () => {
    const batch = [parsed('ToolCalled'), parsed('BudgetSettled'), parsed('ModelRequested', 'agent-b2'), parsed('BudgetSettled'), parsed('AgentStarted', 'other-1')];
    expect(agentsMovingTotals(batch)).toEqual(['a1', 'b2']);
    expect(agentsMovingTotals([parsed('AgentSpawned', 'agent-zz')])).toEqual(['a1']); // the spawned agent's id, from its data
    // One UPDATE for every agent of the batch (agentBatchFold.ts), and no recount when no total moved.
    expect(batchStatements(agentsProjection, [parsed('ToolCalled'), parsed('MessageSent')], names(agentsProjection))).toHaveLength(1);
    const statements = batchStatements(agentsProjection, batch, names(agentsProjection));
    // The recount: one statement, the totals and status counts of each tree in one row (v6).
    expect(statements).toHaveLength(1 + 1);
    expect((statements[0]!.params[0] as { agent_id: string }[]).map((r) => r.agent_id)).toEqual(['a1', 'b2']);
    for (const st of statements.slice(-1)) expect(castsEveryParam(st.text)).toBe(true);
    expect(statements.at(-1)!.params).toEqual([['a1', 'b2']]);
  });
});
