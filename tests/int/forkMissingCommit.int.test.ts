import { afterAll, describe, expect, it } from 'vitest';
import { createAgentSystem } from '../../src/system.js';
import { createTempRepo } from '../support/gitRepo.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * A fork of a run whose repository is not this one (a new user forked a demo run, whose
 * temporary repository the demo removes): it was accepted, made the fork and its children, and
 * failed each at its worktree after three tries. It is refused before anything is written.
 */
describe('a fork whose worktree would start at a commit this repository lacks', () => {
  const ran = createTempRepo({ prefix: 'cadre-fork-ran-' });
  const other = createTempRepo({ prefix: 'cadre-fork-other-', files: { 'OTHER.md': 'another project\n' } });
  afterAll(() => {
    ran.cleanup();
    other.cleanup();
  });

  it('is refused naming the commit, and writes nothing', async () => {
    const schema = freshSchema('forkgone');
    const store = { kind: 'postgres' as const, connectionString: testPgUrl() };
    const first = await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspace: { repo: ran.path, basePath: ran.basePath } });
    const agent = await first.spawn({ role: 'writer', task: 'write notes', budget: 20_000, workspace: true });
    expect((await agent.run()).status).toBe('completed');
    // Cut while it worked: its worktree made, from the repository's first commit.
    const at = (await first.history(agent.id)).find((e) => e.type === 'WorkspaceCreated')!.revision;
    await first.close();

    const elsewhere = await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspace: { repo: other.path, basePath: other.basePath } });
    try {
      const head = await elsewhere.store.headPosition();
      await expect(elsewhere.fork(agent.id, { atRevision: at })).rejects.toThrow(/invalid fork\.sourceId: the source worked in a git worktree at commit [0-9a-f]{12}, which is not in this repository/);
      expect(await elsewhere.store.headPosition()).toBe(head);
    } finally {
      await elsewhere.close();
    }
    // In the repository it ran in, the same fork is made.
    const back = await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspace: { repo: ran.path, basePath: ran.basePath } });
    try {
      const fork = await back.fork(agent.id, { atRevision: at });
      expect((await fork.state()).status).not.toBe('failed');
    } finally {
      await back.close();
    }
  });
});
