import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createAgentSystem } from '../../src/system.js';
import type { ModelProvider } from '../../src/actors/ports/modelProvider.js';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { createTempRepo } from '../support/gitRepo.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * A run's nodes finish their endings before the process closes. A new user's Ctrl-C and resume
 * left a node's worktree behind until some later process hosted it: the node's reply landed in
 * the close's grace period, and its ending was never run (the second test; it fails without
 * close() letting endings finish). The first holds the ordinary path to the same standard, with a
 * slow worktree removal: a workflow's run() returns only once its nodes' endings are done.
 */
describe('close after a workflow with worktrees ends', () => {
  const repo = createTempRepo({ prefix: 'cadre-close-endings-' });
  afterAll(() => repo.cleanup());

  it('lets every node finish its ending: worktrees removed, each recorded, nothing live', async () => {
    const schema = freshSchema('closeend');
    const store = { kind: 'postgres' as const, connectionString: testPgUrl() };
    // Removing a worktree takes a while (a big checkout): the workflow's end, recorded once its
    // last node's end was, returns run() while that node is still removing its worktree.
    const slowlyRemoving = () => {
      const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath });
      return { ...port, remove: async (...args: Parameters<typeof port.remove>) => (await new Promise((r) => setTimeout(r, 400)), port.remove(...args)) };
    };
    const open = (recover = true) => createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, recover, workspacePort: slowlyRemoving(), workspace: { cleanup: 'on_completion' } });
    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      const system = await open();
      const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: `round ${round}`, budget: 200_000, workspace: true });
      expect((await wf.run()).status).toBe('completed');
      ids.push(wf.id);
      await system.close(); // at once, as a CLI command does after the run returns
    }
    // Not recovering: what the runs left is read as they left it.
    const reader = await open(false);
    try {
      for (const id of ids) {
        for (const node of (await reader.workflows.progress(id)).nodes) {
          const types = (await reader.history(node.childId!)).map((e) => e.type);
          expect(types, `${node.id} of ${id}`).toContain('WorkspaceRemoved');
          const created = (await reader.history(node.childId!)).find((e) => e.type === 'WorkspaceCreated');
          expect(created?.type === 'WorkspaceCreated' && existsSync(created.data.path), `${node.id}'s worktree`).toBe(false);
        }
      }
      const live = await reader.internal.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.actor_index WHERE status = 'live'`);
      expect(live.rows[0]!.n).toBe(0);
    } finally {
      await reader.close();
    }
  }, 120_000);

  it('a node whose reply lands while the process closes (Ctrl-C mid-call) finishes its ending before the close ends', async () => {
    const schema = freshSchema('closeend');
    const store = { kind: 'postgres' as const, connectionString: testPgUrl() };
    // A model that takes 800 ms and then finishes at once: the reply that lands during the close ends the node.
    const finishing: ModelProvider = {
      name: 'slow-finish', isLLM: false, defaultModel: 'slow-finish', estimateInputTokens: () => 100,
      complete: async () => (await new Promise((r) => setTimeout(r, 800)), { model: 'slow-finish', stopReason: 'tool_use', usage: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 }, content: [{ type: 'tool_use', id: 'toolu_f', name: 'finish', input: { output: 'done' } }] }),
    };
    const open = (model: ModelProvider | { provider: 'offline' }) => createAgentSystem({ store, schema, model, env: {}, recover: false, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'on_completion' } });
    const system = await open(finishing);
    const wf = await system.workflows.spawnWorkflow({ templateId: 'tdd-workflow', task: 'interrupted', budget: 200_000, workspace: true });
    void wf.run().catch(() => {});
    // Its first node's model call is out: close, as Ctrl-C does; the reply is let land.
    await expect.poll(async () => (await system.workflows.progress(wf.id)).nodes[0]?.childId ?? null, { timeout: 10_000, interval: 20 }).not.toBeNull();
    const node = (await system.workflows.progress(wf.id)).nodes[0]!.childId!;
    await expect.poll(async () => (await system.history(node)).some((e) => e.type === 'ModelRequested'), { timeout: 10_000, interval: 20 }).toBe(true);
    await system.close();
    const reader = await open({ provider: 'offline' });
    try {
      const types = (await reader.history(node)).map((e) => e.type);
      expect(types, types.join(' ')).toContain('AgentCompleted');
      // Its ending ran to the end here: its worktree removed (it wrote nothing to commit), and
      // nothing of it left for a later host.
      expect(types, types.join(' ')).toContain('WorkspaceRemoved');
      const live = await reader.internal.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.actor_index WHERE status = 'live' AND agent_id = $1`, [node]);
      expect(live.rows[0]!.n, types.join(' ')).toBe(0);
    } finally {
      await reader.close();
    }
  }, 60_000);
});
