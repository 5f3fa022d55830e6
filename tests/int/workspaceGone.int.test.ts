import { afterAll, describe, expect, it } from 'vitest';
import type { ModelProvider, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * An agent's worktree out of reach for good: its repository deleted while it worked (as an
 * interrupted `cadre demo` deleted its own). Its ending cannot commit; it retried that for ever,
 * held its parent's record back with its unspent budget, and `cadre fire` on the parent failed
 * on it ("has no usable worktree"). Ending the tree now records the child's end without the
 * commit and returns its budget, and the child's own ending finishes too.
 */
describe('a worktree whose repository is gone', () => {
  let system: AgentSystem | undefined;
  afterAll(async () => {
    await system?.close();
  });

  it('fire ends the tree and returns the budget; the child’s ending stops retrying', { timeout: 90_000 }, async () => {
    const repo = await createTempRepo({ prefix: 'cadre-gone-' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let called!: () => void;
    const calling = new Promise<void>((resolve) => (called = resolve));
    const model: ModelProvider = {
      name: 'scripted',
      isLLM: false,
      defaultModel: 'gated',
      async complete(_request: ModelRequest) {
        called();
        await gate;
        return {
          model: 'gated',
          content: [{ type: 'tool_use', id: 'toolu_done', name: 'finish', input: { output: 'done, in a worktree that is gone' } }],
          stopReason: 'tool_use',
          usage: { inputTokens: 100, outputTokens: 50, cacheReadTokens: 0, cacheCreationTokens: 0 },
        };
      },
      estimateInputTokens: () => 100,
    };
    system = await testSystem('pglite', { model, workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'on_completion' } });
    const lead = await system.spawn({ role: 'lead', task: 'wait for the child', budget: 50_000, workspace: true });
    const child = await lead.spawn({ role: 'child', task: 'work in a worktree', budget: 10_000 });
    const running = child.run();
    await calling; // its worktree is made and its model call is out
    expect((await system.history(child.id)).map((e) => e.type)).toContain('WorkspaceCreated');
    repo.cleanup(); // the repository and every worktree under it
    release();
    // Completed, and its ending failing to commit (retrying): fired now, not after its retries.
    while ((await child.state()).status !== 'completed') await new Promise((r) => setTimeout(r, 50));

    const fired = Date.now();
    await system.terminate(lead.id, 'its repository is gone');
    expect(Date.now() - fired).toBeLessThan(10_000);
    const state = await lead.state();
    expect(state.status).toBe('terminated');
    // The child's end is recorded in the lead, its unspent tokens back: 50,000 less its 150.
    expect((await system.history(lead.id)).map((e) => e.type)).toContain('ChildFinished');
    expect(state.budget).toMatchObject({ allocated: 50_000, spentBySubtree: 150, reserved: 0, delegated: 0 });
    // No commit could be made; the child's own ending gets past it (its next attempt, within a few seconds).
    const childTypes = async () => (await system!.history(child.id)).map((e) => e.type);
    expect(await childTypes()).not.toContain('WorkspaceCommitted');
    const deadline = Date.now() + 30_000;
    while (!(await childTypes()).includes('WorkspaceRemoved') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await childTypes()).toContain('WorkspaceRemoved');
    expect((await running).status).toBe('completed');
  });
});
