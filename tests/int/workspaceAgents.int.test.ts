import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import type { AgentSystem } from '../../src/system.js';
import { testSystem } from '../support/system.js';
import { createTempRepo } from '../support/gitRepo.js';

type Repo = Awaited<ReturnType<typeof createTempRepo>>;

describe('agents in git worktrees', () => {
  let repo: Repo;
  let system: AgentSystem;
  beforeAll(async () => {
    repo = await createTempRepo();
    // On the suite's Postgres (a fresh schema): the store is incidental to the worktrees.
    system = await testSystem('postgres', { workspace: { repo: repo.path, basePath: repo.basePath, cleanup: 'on_completion' } });
  });
  afterAll(async () => {
    await system.close();
    await repo.cleanup();
  });

  it('children write in their own worktrees, their work is merged up, and worktrees are cleaned up', async () => {
    const lead = await system.spawn({ role: 'lead', task: 'assemble the parts', budget: 100_000, workspace: true });
    const a = await lead.spawn({ role: 'frontend', task: 'build the page', budget: 20_000 });
    const b = await lead.spawn({ role: 'backend', task: 'build the api', budget: 20_000 });
    const result = await lead.run();
    expect(result.status).toBe('completed');
    const leadEvents = (await system.history(lead.id)).map((e) => e.type);
    expect(leadEvents).toContain('WorkspaceCreated');
    expect(leadEvents.filter((t) => t === 'WorkspaceMerged')).toHaveLength(2);
    for (const child of [a, b]) {
      const types = (await system.history(child.id)).map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(['WorkspaceCreated', 'WorkspaceCommitted', 'WorkspaceRemoved']));
    }
    // The lead's branch holds both children's files, each written only in its own worktree.
    const files = (await repo.git(['ls-tree', '-r', '--name-only', `agents/${lead.id}`])).split('\n');
    expect(files.some((f) => f.startsWith('frontend/'))).toBe(true);
    expect(files.some((f) => f.startsWith('backend/'))).toBe(true);
    const aFiles = (await repo.git(['ls-tree', '-r', '--name-only', `agents/${a.id}`])).split('\n');
    expect(aFiles.some((f) => f.startsWith('backend/'))).toBe(false);
    const created = (await system.history(a.id)).find((e) => e.type === 'WorkspaceCreated')!.data as { path: string };
    expect(existsSync(created.path)).toBe(false);
  });
});
