import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentSystem } from '../../src/system.js';
import { agentTree, flatten } from '../../src/dashboard/agentTree.js';
import { readAgentTree, readModelsCurrent } from '../../src/dashboard/readAgentTree.js';
import { testSystem } from '../support/system.js';
import pg from 'pg';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import type { ModelProvider } from '../../src/actors/ports/modelProvider.js';

/**
 * `cadre tree`, `budget`, `status` and the dashboard's tree read the agents read model when it
 * has applied the store's head, and fold the streams when it lags: the same tree either way.
 */
describe('readAgentTree', () => {
  let system: AgentSystem | undefined;
  afterEach(async () => {
    await system?.close();
    system = undefined;
  });

  /**
   * Until the read models have applied every event: one wait for the head is not enough when
   * another database of the server holds a transaction open. The head is read under the xmin
   * rule, so it can move up past events this test committed earlier, once that transaction ends.
   */
  async function caughtUp(s: AgentSystem): Promise<void> {
    await expect.poll(async () => {
      await s.reports.waitFor(await s.store.headPosition());
      return readModelsCurrent(s);
    }, { timeout: 20_000 }).toBe(true);
  }

  /** A lead with live children, a worker that fails (too small a budget), a fired child and a completed one whose task the read model cuts. */
  async function buildTree(s: AgentSystem): Promise<{ leadId: string; laterId: string }> {
    const lead = await s.spawn({ role: 'lead', task: 'delegate', budget: 200_000 });
    const p = await lead.spawn({ role: 'planner', task: 'plan', budget: 12_000 });
    const w = await p.spawn({ role: 'worker', task: 'work', budget: 50 });
    const q = await lead.spawn({ role: 'qa', task: 'check', budget: 9_000 });
    await q.spawn({ role: 'tester', task: 'test', budget: 3_000 });
    const idle = await lead.spawn({ role: 'idle', task: 'wait', budget: 5_000 });
    const done = await lead.spawn({ role: 'done', task: 'y'.repeat(3_000), budget: 30_000 });
    const later = await lead.spawn({ role: 'later', task: 'later', budget: 30_000 });
    await lead.fire(idle.id);
    expect((await w.run()).status).toBe('failed');
    const r = await done.run(); expect(r.status, JSON.stringify(r)).toBe('completed');
    return { leadId: lead.id, laterId: later.id };
  }

  it('reads the read models when they are current: the tree agentTree folds, key for key', async () => {
    system = await testSystem('postgres');
    const { leadId } = await buildTree(system);
    await caughtUp(system);

    const folded = await agentTree(system, leadId);
    const states = vi.spyOn(system.internal.runtime, 'states');
    const read = await readAgentTree(system, leadId);
    // The same JSON, in the same key order (what `cadre tree --json` prints).
    expect(JSON.stringify(read)).toBe(JSON.stringify(folded));
    // Only what the rows cannot say was folded: live agents, the fired one, the one whose task was cut.
    const folds = states.mock.calls.flatMap(([ids]) => ids);
    const byRole = new Map(flatten(read).map((n) => [n.role, n]));
    expect(byRole.get('worker')!.status).toBe('failed');
    expect(folds).not.toContain(byRole.get('worker')!.id);
    for (const role of ['lead', 'planner', 'qa', 'tester', 'idle', 'later', 'done']) expect(folds).toContain(byRole.get(role)!.id);
    expect(byRole.get('done')!.task).toHaveLength(3_000);
    // A tree at rest reads from its rows alone.
    const rest = await system.spawn({ role: 'rest', task: 'rest', budget: 20_000 });
    const child = await rest.spawn({ role: 'child', task: 'child', budget: 5_000 });
    expect((await child.run()).status).toBe('completed');
    expect((await rest.run()).status).toBe('completed');
    await caughtUp(system);
    states.mockClear();
    const atRest = await readAgentTree(system, rest.id);
    expect(states.mock.calls.flatMap(([ids]) => ids)).toEqual([]);
    expect(JSON.stringify(atRest)).toBe(JSON.stringify(await agentTree(system, rest.id)));
    // The child's remainder went back to the root: counted there, as the fold says.
    expect(atRest.children[0]!.returned).toBe(5_000 - atRest.children[0]!.budget.consumed);
    // A subtree below the root reads the same too (its root has no node id or returned remainder).
    const planner = read.children.find((c) => c.role === 'planner')!;
    expect(JSON.stringify(await readAgentTree(system, planner.id))).toBe(JSON.stringify(await agentTree(system, planner.id)));
  });

  it('folds the streams when the read models are behind the store: the final state, not the projected one', async () => {
    system = await testSystem('postgres');
    const { leadId, laterId } = await buildTree(system);
    await caughtUp(system);
    // Nothing projects from here on, as after a `cadre run` that exited before its projections caught up.
    await system.projections.stop();
    await system.run(laterId);
    // The head a subscriber sees waits for every transaction older than the run's (any database's
    // on this server: xids are cluster-wide), so it may trail the run for a moment beside other work.
    const last = (await system.history(laterId)).at(-1)!.position;
    const store = system.store;
    await expect.poll(() => store.headPosition(), { timeout: 10_000 }).toBeGreaterThanOrEqual(last);
    expect(await readModelsCurrent(system)).toBe(false);
    const stale = (await system.reports.treeDetail(leadId)).find((r) => r.agentId === laterId);
    expect(stale?.endedStatus).toBeNull();

    const read = await readAgentTree(system, leadId);
    expect(flatten(read).find((n) => n.id === laterId)?.status).toBe('completed');
    expect(JSON.stringify(read)).toBe(JSON.stringify(await agentTree(system, leadId)));
  });

  it('is not current while an older transaction of the server hides a committed run from subscribers', async () => {
    system = await testSystem('postgres');
    const { leadId, laterId } = await buildTree(system);
    await caughtUp(system);
    // Another session (of any database on this server) holds a transaction with an xid open:
    // the run below commits, but no subscriber sees it, so the projections cannot apply it.
    const other = new pg.Client({ connectionString: testPgUrl() });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()');
      const before = await system.store.headPosition();
      expect((await system.run(laterId)).status).toBe('completed');
      expect(await system.store.headPosition()).toBe(before);
      // The subscriber's head did not move, yet the read models are not current: a run is missing.
      expect(await readModelsCurrent(system)).toBe(false);
      const read = await readAgentTree(system, leadId);
      expect(flatten(read).find((n) => n.id === laterId)?.status).toBe('completed');
      expect(JSON.stringify(read)).toBe(JSON.stringify(await agentTree(system, leadId)));
    } finally {
      await other.query('COMMIT').catch(() => {});
      await other.end();
    }
    await caughtUp(system);
    const row = (await system.reports.treeDetail(leadId)).find((r) => r.agentId === laterId);
    expect(row?.endedStatus).toBe('completed');
  });

  it('folds the streams where no process ever ran projections', async () => {
    system = await testSystem('pglite', { runProjections: false });
    const lead = await system.spawn({ role: 'lead', task: 'alone', budget: 1_000 });
    await lead.run();
    expect(await readModelsCurrent(system)).toBe(false);
    expect(JSON.stringify(await readAgentTree(system, lead.id))).toBe(JSON.stringify(await agentTree(system, lead.id)));
  });

  it('an agent whose process stopped hosting it reads "not hosted (was …)", not what its history last said', async () => {
    const schema = freshSchema('host');
    // A model call that never answers: the host's close aborts it after its 5 s drain, and the history keeps the request.
    const hanging: ModelProvider = {
      name: 'hanging', isLLM: false, defaultModel: 'hang', estimateInputTokens: () => 100,
      complete: (_request, options) => new Promise((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
    };
    const host = await testSystem('postgres', { schema, model: hanging });
    const lead = await host.spawn({ role: 'lead', task: 'think', budget: 10_000 });
    void lead.run().catch(() => {});
    system = await testSystem('postgres', { schema, recover: false, readOnly: true, runProjections: false, runMessaging: false });
    const reader = system;
    // Read once the request is recorded: a reader that follows no subscription caches what it read.
    await expect.poll(async () => (await host.history(lead.id)).map((e) => e.type), { timeout: 10_000 }).toContain('ModelRequested');
    expect((await agentTree(reader, lead.id)).activity).toBe('calling model');
    expect((await readAgentTree(reader, lead.id)).activity).toBe('calling model');

    await host.close();
    expect((await agentTree(reader, lead.id)).activity).toBe('not hosted (was calling model)');
    expect((await readAgentTree(reader, lead.id)).activity).toBe('not hosted (was calling model)');
  });
});

