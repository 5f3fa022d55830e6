import { afterAll, describe, expect, it } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { testSystem, type StoreKind } from '../support/system.js';
import { freshSchema } from '../support/testDb.js';

/**
 * A child that ends with nothing left to do between its end and its parent's record of it (no
 * worktree to commit and merge) stores both in one commit: the parent's ChildFinished rides in
 * the child's ending append (parentRecord.ts). One commit and the parent's load less per step.
 */
describe.each<StoreKind>(['postgres', 'pglite'])('a child’s end and its parent’s record of it share one commit (%s)', (kind) => {
  const systems: AgentSystem[] = [];
  afterAll(async () => {
    for (const s of systems) await s.close();
  });

  async function transactions(system: AgentSystem, schema: string, parentId: string, childId: string): Promise<Record<string, string>> {
    const rows = (
      await system.internal.sql.query<{ type: string; tx: string }>(
        `SELECT type, transaction_id::text AS tx FROM ${schema}.events
          WHERE (stream_id = $1 AND type = 'AgentCompleted') OR (stream_id = $2 AND type = 'ChildFinished' AND data->>'childId' = $3)`,
        [`agent-${childId}`, `agent-${parentId}`, childId],
      )
    ).rows;
    return Object.fromEntries(rows.map((r) => [r.type, r.tx]));
  }

  it('a workflow’s nodes, one after another: each node’s AgentCompleted, the workflow’s ChildFinished and the next node’s spawn and opening are one transaction; the first node rides in the workflow’s start', async () => {
    const schema = freshSchema('endc');
    const system = await testSystem(kind, { schema });
    systems.push(system);
    const graph = { nodes: ['a', 'b', 'c'].map((id, i) => ({ id, role: 'tester', task: id, budgetPercent: 30, dependencies: i === 0 ? [] : [['a', 'b'][i - 1]!] })) };
    const wf = await system.workflows.spawnWorkflow({ graph, task: 't', budget: 30_000 });
    expect((await wf.run()).status).toBe('completed');
    const children = (await system.history(wf.id)).filter((e) => e.type === 'ChildSpawned').map((e) => (e.data as { childId: string }).childId);
    expect(children).toHaveLength(3);
    for (const child of children) {
      const tx = await transactions(system, schema, wf.id, child);
      expect(Object.keys(tx).sort()).toEqual(['AgentCompleted', 'ChildFinished']);
      expect(tx.AgentCompleted).toBe(tx.ChildFinished);
    }
    // The next node is spawned in that commit too, and its child opened, started and its first
    // call asked for: one commit per node after the first.
    const commits = await system.internal.sql.query<{ tx: string; events: string[] }>(
      `SELECT transaction_id::text AS tx, array_agg(type || ' ' || stream_id ORDER BY position) AS events FROM ${schema}.events GROUP BY 1 ORDER BY min(position)`,
    );
    const node = (i: number): string => `agent-${children[i]}`;
    const parent = `agent-${wf.id}`;
    for (const i of [1, 2]) {
      const commit = commits.rows.find((r) => r.events.includes(`AgentCompleted ${node(i - 1)}`))!;
      expect(commit.events).toEqual([
        ...['ModelReplied', 'AgentCompleted'].map((t) => `${t} ${node(i - 1)}`),
        // The node's completion rides on ChildFinished (v3), the next node's start on ChildSpawned (v4).
        ...['ChildFinished', 'ChildSpawned'].map((t) => `${t} ${parent}`),
        // The next node's AgentSpawned starts it too (`started`).
        ...['AgentSpawned', 'ModelRequested'].map((t) => `${t} ${node(i)}`),
      ]);
    }
    // The first node rides in the workflow's start: its opening, that start, one commit per node's reply.
    expect(commits.rows[1]!.events).toEqual([
      ...['AgentStarted', 'ChildSpawned'].map((t) => `${t} ${parent}`),
      ...['AgentSpawned', 'ModelRequested'].map((t) => `${t} ${node(0)}`),
    ]);
    expect(commits.rows).toHaveLength(2 + children.length);
    // The same commit ended their actor-index entries (ChildFinished's metadata `settles`), and
    // the workflow's own ending its own: nothing is left live for recovery, with no markEnded.
    const live = await system.internal.sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${schema}.actor_index WHERE status = 'live'`);
    expect(live.rows).toEqual([]);
    // Each node's first model request is stored in the commit of the opening that names it.
    const requests = await system.internal.sql.query<{ same: boolean }>(
      `SELECT b.xmin::text::bigint = (e.transaction_id::text::bigint & 4294967295) AS same FROM ${schema}.events e JOIN ${schema}.blobs b ON b.ref = e.data->>'requestRef' WHERE e.type = 'ModelRequested'`,
    );
    expect(requests.rows).toEqual(children.map(() => ({ same: true })));
    const settles = await system.internal.sql.query<{ type: string; settles: string }>(`SELECT type, metadata->>'settles' AS settles FROM ${schema}.events WHERE metadata ? 'settles' ORDER BY position`);
    expect(settles.rows).toEqual([...children.map((c) => ({ type: 'ChildFinished', settles: c })), { type: 'AgentCompleted', settles: wf.id }]);
  });

  it('children ending together: each end recorded in the parent exactly once, the budget reclaimed once each', async () => {
    const schema = freshSchema('endt');
    const system = await testSystem(kind, { schema });
    systems.push(system);
    const root = await system.spawn({ role: 'lead', task: 'coordinate', budget: 60_000 });
    for (let i = 0; i < 4; i++) await root.spawn({ role: 'worker', task: `part ${i}`, budget: 5_000 });
    expect((await root.run()).status).toBe('completed');
    const types = (await system.history(root.id)).map((e) => e.type);
    const history = await system.history(root.id);
    const ends = history.flatMap((e) => (e.type === 'ChildFinished' ? [e.data] : []));
    expect(ends).toHaveLength(4);
    // Each end returns the budget itself (ChildFinished v2), once per child.
    expect(new Set(ends.map((d) => d.childId)).size).toBe(4);
    for (const d of ends) expect(d.reclaim).toMatchObject({ allocated: 5_000 });
    expect(types.filter((t) => t === 'BudgetReclaimed')).toHaveLength(0);
    expect((await root.state()).budget).toMatchObject({ delegated: 0 });
    // Siblings ending at once: one end rides with its parent's record, the others are recorded by
    // the parent afterwards (ending.ts ensureParentNotified). Either way the record's ChildFinished
    // ends the child's actor-index entry in its commit: no entry stays live, and no markEnded
    // statement is needed for them.
    const settled = await system.internal.sql.query<{ child: string; settles: string | null }>(
      `SELECT data->>'childId' AS child, metadata->>'settles' AS settles FROM ${schema}.events WHERE stream_id = $1 AND type = 'ChildFinished'`,
      [`agent-${root.id}`],
    );
    expect(settled.rows).toHaveLength(4);
    for (const r of settled.rows) expect(r.settles).toBe(r.child);
    const live = await system.internal.sql.query<{ agent_id: string }>(`SELECT agent_id FROM ${schema}.actor_index WHERE status = 'live' AND agent_id <> $1`, [root.id]);
    expect(live.rows).toEqual([]);
  });
});
