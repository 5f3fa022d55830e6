import { afterAll, describe, expect, it } from 'vitest';
import type { AgentRuntime } from '../../src/actors/runtime.js';
import { createEventStore } from '../../src/events/stores/createEventStore.js';
import { StoreUnavailable } from '../../src/errors.js';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';
import { composeRuntime } from '../support/runtime.js';
import { checkTreeAtRest } from '../support/actorsInvariants.js';
import { dyingStore } from '../support/dyingStore.js';
import { attachWorkflows, spawnWorkflow } from '../../src/workflows/index.js';
import { nodeCompletions, nodeStarts } from '../support/nodeEvents.js';

/**
 * Crashes injected between any two appends: a store that dies after N appends (every later
 * append fails, as if the process had stopped there), then a fresh system on the same schema
 * recovers and finishes the run.
 */

/** The scenario: a 3-level tree, spawned and run. Returns the root id once it is known. */
async function scenario(runtime: AgentRuntime, onRoot: (id: string) => void): Promise<void> {
  const root = await runtime.spawnRoot({ role: 'lead', task: 'coordinate', budget: 60_000 });
  onRoot(root);
  const a = await runtime.spawnChild(root, { role: 'a', task: 'part a', budget: 15_000 });
  await runtime.spawnChild(root, { role: 'b', task: 'part b', budget: 15_000 });
  await runtime.spawnChild(a, { role: 'a1', task: 'detail', budget: 5_000 });
  await runtime.run(root);
}

describe('crash between any two appends, then recovery', () => {
  const systems: AgentSystem[] = [];
  afterAll(async () => {
    for (const s of systems) await s.close();
  });

  it('every crash point of a 3-level run is finished by recovery: one end per agent, nothing answered twice, budget conserved', async () => {
    // A reference run counts the appends the scenario makes.
    const ref = await composeRuntime(freshSchema('ref'), (s) => dyingStore(s, Number.MAX_SAFE_INTEGER));
    const refStore = (ref.runtime as unknown as { deps: { store: { appends: number } } }).deps.store;
    await scenario(ref.runtime, () => {});
    const total = refStore.appends;
    await ref.close();
    expect(total).toBeGreaterThan(15); // 19 today: a chained spawn is one append

    const stride = Number(process.env.CADRE_CRASH_STRIDE ?? 2);
    const points: number[] = [];
    for (let n = 1; n < total; n += stride) points.push(n);
    const beyondTheRun: number[] = [];
    for (const n of points) {
      const schema = freshSchema('cp');
      let rootId: string | null = null;
      const crashed = await composeRuntime(schema, (s) => dyingStore(s, n));
      const dying = (crashed.runtime as unknown as { deps: { store: { dead: boolean; appends: number } } }).deps.store;
      let finished = false;
      const run = scenario(crashed.runtime, (id) => (rootId = id)).then(() => (finished = true), () => {});
      const deadline = Date.now() + 30_000;
      while (!dying.dead && !finished && Date.now() < deadline) await Promise.race([run, new Promise((r) => setTimeout(r, 5))]);
      if (!dying.dead) {
        // The run takes 16 or 18 appends, as the siblings' parent records share a commit or not:
        // a point past this run's last append is not reached, and the run must have finished.
        expect(finished, `crash point ${n}: the run neither crashed nor finished`).toBe(true);
        expect(dying.appends).toBeLessThan(n);
        beyondTheRun.push(n);
        await crashed.close();
        continue;
      }
      await crashed.close();

      const system = await testSystem('postgres', { schema, model: { provider: 'offline' }, maxConcurrentAgents: 2 });
      systems.push(system);
      expect(rootId).not.toBeNull();
      const result = await system.run(rootId!);
      expect(result.status, `crash point ${n}`).toBe('completed');
      await checkTreeAtRest(system, rootId!);
      await system.close();
    }
    expect(beyondTheRun.length, `points past the run's end: ${beyondTheRun.join(', ')}`).toBeLessThanOrEqual(2);
    console.log(`crash points exercised: ${points.length - beyondTheRun.length} of ${total - 1} (every ${stride}${stride === 1 ? 'st' : 'nd'} append)`);
  });

  // Between the two appends: an adapter without chained appends (EventStoreDB), where they are two.
  for (const indexed of [true, false]) it(`a crash between ChildSpawned and the child stream (child ${indexed ? 'in' : 'not in'} the actor index): recovery opens the child without running anything`, async () => {
    const schema = freshSchema('cs');
    let rootId = '';
    // Indexed: the runtime wrote the child's entry before its stream (beside EventStoreDB, or a
    // worker's lease). Not: the entry comes with AgentSpawned (Postgres), so none was written.
    const crashed = await composeRuntime(schema, (s) => dyingStore(s, 0, (_stream, types) => types[0] === 'AgentSpawned' && rootId !== '', { chains: false }), { indexFollowsEvents: !indexed });
    rootId = await crashed.runtime.spawnRoot({ role: 'lead', task: 'x', budget: 10_000 });
    await expect(crashed.runtime.spawnChild(rootId, { role: 'w', task: 'y', budget: 4_000 })).rejects.toBeInstanceOf(StoreUnavailable);
    await crashed.close();
    const index = await createEventStore({ kind: 'postgres', connectionString: testPgUrl(), schema });
    const entries = await index.sql.query(`SELECT agent_id FROM ${schema}.actor_index`);
    await index.close();
    expect(entries.rows.length, 'index entries before recovery').toBe(indexed ? 2 : 1);

    const system = await testSystem('postgres', { schema });
    systems.push(system);
    const parent = await system.get(rootId).state();
    expect(parent.children).toHaveLength(1);
    const childId = parent.children[0]!.id;
    // Recovery alone (no run) has opened the child's stream with the delegated amount.
    const child = await system.replay(childId);
    expect(child).toMatchObject({ parentId: rootId, status: 'spawned', budget: { allocated: 4_000 } });
    expect((await system.history(childId))[0]!.type).toBe('AgentSpawned');
    const result = await system.run(rootId);
    expect(result.status).toBe('completed');
    await checkTreeAtRest(system, rootId);
  });

  it('a child reopened after that crash is opened with the spec its parent recorded (timeout, turns, model), not with defaults', async () => {
    const schema = freshSchema('cspec');
    let rootId = '';
    const crashed = await composeRuntime(schema, (s) => dyingStore(s, 0, (_stream, types) => types[0] === 'AgentSpawned' && rootId !== '', { chains: false }));
    rootId = await crashed.runtime.spawnRoot({ role: 'lead', task: 'x', budget: 10_000, model: 'root-model' });
    const spec = { role: 'w', task: 'y', budget: 4_000, timeoutMs: 123_000, maxTurns: 7, model: 'child-model' };
    await expect(crashed.runtime.spawnChild(rootId, spec)).rejects.toBeInstanceOf(StoreUnavailable);
    await crashed.close();

    const system = await testSystem('postgres', { schema });
    systems.push(system);
    const childId = (await system.get(rootId).state()).children[0]!.id;
    const opened = (await system.history(childId))[0]!;
    expect(opened.type).toBe('AgentSpawned');
    expect(opened.data).toMatchObject({ parentId: rootId, rootId, depth: 1, role: 'w', task: 'y', budget: 4_000, timeoutMs: 123_000, maxTurns: 7, model: 'child-model', workspace: null });
  });

  /**
   * The crash comes at the first commit after the one holding an append `isGroup` recognises
   * (that commit is stored): the window a grouped write leaves between it and the next. `start`
   * spawns and runs the scenario; a fresh system then recovers and runs its root to the end.
   * `chains: false`: appends that ride together on Postgres are separate commits, as beside
   * EventStoreDB, so the crash comes between them.
   */
  async function crashAfterGroup(isGroup: (types: string[]) => boolean, start: (runtime: AgentRuntime) => Promise<string>, options: { chains?: boolean } = {}): Promise<{ system: AgentSystem; rootId: string }> {
    const schema = freshSchema('cg');
    let store!: ReturnType<typeof dyingStore>;
    let seenAt = -1; // the commit (by count) that held the group
    const crashed = await composeRuntime(schema, (s) =>
      (store = dyingStore(s, 0, (_stream, types) => {
        if (seenAt >= 0) return store.appends > seenAt;
        if (isGroup(types)) seenAt = store.appends;
        return false;
      }, options)),
    );
    const dying = (crashed.runtime as unknown as { deps: { store: { dead: boolean } } }).deps.store;
    const rootId = await start(crashed.runtime);
    const run = crashed.runtime.run(rootId).catch(() => {});
    const deadline = Date.now() + 10_000;
    while (!dying.dead && Date.now() < deadline) await Promise.race([run, new Promise((r) => setTimeout(r, 5))]);
    expect(dying.dead, 'crash point reached').toBe(true);
    await crashed.close();
    const system = await testSystem('postgres', { schema, model: { provider: 'offline' } });
    systems.push(system);
    expect((await system.run(rootId)).status).toBe('completed');
    return { system, rootId };
  }

  const endOfReply = (t: string[]): boolean => t[0] === 'ModelReplied' && t.includes('AgentCompleted');
  const groupedCrashes: Array<[string, (types: string[]) => boolean, { chains?: boolean }]> = [
    // AgentSpawned carries the start itself (`started`) since issue 19: two events where there were three.
    ['a child opened, started and its first call asked for in one append (AgentSpawned, which starts it, +ModelRequested, which reserves: the start is the run request)', (t) => t[0] === 'AgentSpawned' && t.includes('ModelRequested'), {}],
    // With chains, the parent's ChildFinished (which reclaims the budget) rides in the same commit.
    ['a reply that called only finish, recorded with the end and the parent\'s record of it (ModelReplied, which settles, +AgentCompleted, then ChildFinished)', endOfReply, {}],
    ['the same reply and end stored alone, without the parent\'s record (as beside EventStoreDB)', endOfReply, { chains: false }],
  ];
  for (const [what, isGroup, options] of groupedCrashes) it(`a crash right after ${what}: recovery finishes the run`, async () => {
    const { system, rootId } = await crashAfterGroup(isGroup, async (runtime) => {
      const root = await runtime.spawnRoot({ role: 'lead', task: 'coordinate', budget: 30_000 });
      // Spawned and run at once, as the spawn_agent tool and a workflow node do.
      await runtime.spawnChild(root, { role: 'w', task: 'part', budget: 8_000 }, { run: true }).catch(() => {});
      return root;
    }, options);
    const { ids } = await checkTreeAtRest(system, rootId);
    expect(ids).toHaveLength(2);
  });

  // The record holds the next node's spawn too (spawnsAlong.ts), and with chains the next child's
  // opening rides in the same commit; without, the crash comes between the record and the opening.
  for (const chains of [true, false]) it(`a crash right after a workflow recorded a node child's end with the node's outcome and the next node's spawn (ChildFinished completing the node + ChildSpawned starting the next${chains ? ', in the child\'s ending commit with the next child\'s opening' : ', the next child not yet opened'}): recovery runs the rest once`, async () => {
    const { system, rootId } = await crashAfterGroup((t) => t[0] === 'ChildFinished' && t.includes('ChildSpawned'), (runtime) => {
      attachWorkflows(runtime);
      const graph = { nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 40 }, { id: 'b', role: 'tester', task: 'B', budgetPercent: 40, dependencies: ['a'] }] };
      return spawnWorkflow(runtime, { graph }, { task: 't', budget: 20_000 });
    }, { chains });
    const { ids } = await checkTreeAtRest(system, rootId);
    expect(ids).toHaveLength(3); // the workflow and one child per node: none started twice
    const history = await system.history(rootId);
    expect(nodeCompletions(history)).toHaveLength(2);
    expect(nodeStarts(history)).toHaveLength(2);
    expect(history.filter((e) => e.type === 'ChildSpawned')).toHaveLength(2);
    expect(history.filter((e) => e.type === 'NodeStarted' || e.type === 'NodeCompleted')).toHaveLength(0);
  });

  for (const chains of [true, false]) it(`a crash right after a workflow's start recorded with its first node's spawn (AgentStarted+ChildSpawned starting the node${chains ? ', with the node child\'s opening in the same commit' : ', the node child not yet opened'}): recovery runs each node once`, async () => {
    const { system, rootId } = await crashAfterGroup((t) => t[0] === 'AgentStarted' && t.includes('ChildSpawned'), (runtime) => {
      attachWorkflows(runtime);
      const graph = { nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 40 }, { id: 'b', role: 'tester', task: 'B', budgetPercent: 40, dependencies: ['a'] }] };
      return spawnWorkflow(runtime, { graph }, { task: 't', budget: 20_000 });
    }, { chains });
    const { ids } = await checkTreeAtRest(system, rootId);
    expect(ids).toHaveLength(3);
    const history = await system.history(rootId);
    expect(nodeStarts(history)).toHaveLength(2);
    expect(nodeCompletions(history)).toHaveLength(2);
    expect(history.filter((e) => e.type === 'NodeStarted' || e.type === 'NodeCompleted')).toHaveLength(0);
  });

  // `start: true`: the spawn's own commit holds the start and the first node's spawn (one commit
  // where a spawn and a run() take two), and with chains the node child's opening too.
  for (const chains of [true, false]) it(`a crash right after a workflow spawned started (AgentSpawned+WorkflowPlanned+AgentStarted+ChildSpawned in one append${chains ? ', with the node child\'s opening in the same commit' : ', the node child not yet opened'}): recovery runs each node once`, async () => {
    const id = crypto.randomUUID();
    const { system, rootId } = await crashAfterGroup((t) => t[0] === 'AgentSpawned' && t.includes('WorkflowPlanned') && t.includes('AgentStarted') && t.includes('ChildSpawned'), async (runtime) => {
      attachWorkflows(runtime);
      const graph = { nodes: [{ id: 'a', role: 'tester', task: 'A', budgetPercent: 40 }, { id: 'b', role: 'tester', task: 'B', budgetPercent: 40, dependencies: ['a'] }] };
      // Without chains the child's opening is the commit that dies: the spawn reports it.
      await spawnWorkflow(runtime, { graph }, { task: 't', budget: 20_000, start: true, id }).catch(() => {});
      return id;
    }, { chains });
    const { ids } = await checkTreeAtRest(system, rootId);
    expect(ids).toHaveLength(3);
    const history = await system.history(rootId);
    expect(history.slice(0, 4).map((e) => e.type)).toEqual(['AgentSpawned', 'WorkflowPlanned', 'AgentStarted', 'ChildSpawned']);
    expect(nodeStarts(history)).toHaveLength(2);
    expect(nodeCompletions(history)).toHaveLength(2);
  });

  it('a crash right after a firing was recorded (AgentTerminating), before its cascade: the process that recovers the tree finishes the firing', async () => {
    const schema = freshSchema('cterm');
    let store!: ReturnType<typeof dyingStore>;
    let seenAt = -1;
    const crashed = await composeRuntime(schema, (s) =>
      (store = dyingStore(s, 0, (_stream, types) => {
        if (seenAt >= 0) return store.appends > seenAt;
        if (types[0] === 'AgentTerminating') seenAt = store.appends;
        return false;
      }, { chains: false })),
    );
    const root = await crashed.runtime.spawnRoot({ role: 'lead', task: 'x', budget: 10_000 });
    const child = await crashed.runtime.spawnChild(root, { role: 'w', task: 'y', budget: 4_000 });
    await expect(crashed.runtime.terminateSubtree(root, 'stop spending', null)).rejects.toBeInstanceOf(StoreUnavailable);
    await crashed.close();

    const system = await testSystem('postgres', { schema, model: { provider: 'offline' } });
    systems.push(system);
    const deadline = Date.now() + 15_000;
    while ((await system.get(root).state()).status !== 'terminated' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const state = await system.get(root).state();
    expect(state.status).toBe('terminated');
    expect(state.result?.reason).toBe('stop spending');
    expect((await system.get(child).state()).status).toBe('terminated');
    await checkTreeAtRest(system, root);
  });

  it('a child opened once is opened again as a no-op whatever the batch (a spawn run again after a crash, recovery racing a run): it runs once', async () => {
    const rt = await composeRuntime(freshSchema('reopen'));
    try {
      const root = await rt.runtime.spawnRoot({ role: 'lead', task: 'x', budget: 20_000 });
      const child = { id: 'reopened-child', role: 'w', task: 'y', budget: 4_000 };
      await rt.runtime.spawnChild(root, child); // opened with AgentSpawned alone
      await rt.runtime.spawnChild(root, child, { run: true }); // the same spawn again, now to run at once
      await rt.runtime.spawnChild(root, child, { run: true });
      // Spawned again once it has ended and left the live set: it used to wait for its own
      // opening to end (its load waited on the spawn that was loading it), one run in three.
      expect((await rt.runtime.waitForEnd('reopened-child')).status).toBe('completed');
      await rt.runtime.spawnChild(root, child, { run: true });
      expect((await rt.runtime.run(root)).status).toBe('completed');
      const types = (await rt.runtime.history('reopened-child')).map((e) => e.type);
      expect(types.filter((t) => t === 'AgentSpawned')).toHaveLength(1);
      // Asked to run once: by the start alone when a slot was free, else a request and then the start.
      expect(types.filter((t) => t === 'AgentRunRequested').length).toBeLessThanOrEqual(1);
      expect(types.filter((t) => t === 'AgentStarted')).toHaveLength(1);
    } finally {
      await rt.close();
    }
  });
});
