import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkspaceManager, type WorkspaceManager } from '../../src/infra/workspace/workspaceManager.js';
import type { AgentEnd } from '../../src/infra/workspace/cleanupWorkspaces.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

/**
 * The manager's cleanup on shapes the CLI test does not build: agents merged into a parent's
 * branch, branches at one commit, a dirty worktree, branch names that are not cadre's. Whatever
 * is deleted, every commit stays reachable from a branch that is kept.
 */
describe('workspace cleanup: a branch goes only when a kept branch holds all its commits', () => {
  let repo: TempRepo;
  let ws: WorkspaceManager;
  const ended = (ends: Record<string, AgentEnd>) => (id: string): Promise<AgentEnd> => Promise.resolve(ends[id] ?? 'unknown');
  const branches = (): string[] => repo.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/']).split('\n').sort();
  const commitIn = async (id: string, file: string): Promise<void> => {
    writeFileSync(join(ws.pathOf(id), file), `${id}\n`);
    await ws.commit(id, `${id}: ${file}`);
  };
  const reachable = (): string => repo.git(['rev-list', '--all', '--count']);

  beforeEach(async () => {
    repo = createTempRepo();
    ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
  });
  afterEach(() => repo.cleanup());

  it('a child merged into its unmerged parent goes (merged into the parent\'s branch); the parent stays; once main has the parent, both go', async () => {
    await ws.create('parent');
    await ws.create('child', { baseBranch: 'agents/parent' });
    await commitIn('child', 'c.txt');
    expect((await ws.merge('child', 'parent')).status).toBe('merged');
    await ws.remove('child');
    const ends = ended({ parent: 'completed', child: 'completed' });

    // The parent's worktree is still there: it goes, its branch holds work nobody else has.
    const first = await ws.cleanup('on_completion', ends);
    expect(first.entries.map((e) => [e.kind, e.name.replace(repo.basePath, '<base>'), e.action, e.detail])).toEqual([
      ['branch', 'agents/child', 'remove', 'agent completed; merged into agents/parent'],
      ['worktree', '<base>/parent', 'remove', 'agent completed'],
      ['branch', 'agents/parent', 'keep', 'agent completed; holds commits no other branch has'],
    ]);
    expect(branches()).toEqual(['agents/parent', 'main']);

    repo.git(['merge', '--quiet', '--no-edit', 'agents/parent']);
    const second = await ws.cleanup('on_completion', ends);
    expect(second.entries.map((e) => [e.name, e.action, e.reason])).toEqual([['agents/parent', 'remove', 'merged']]);
    expect(branches()).toEqual(['main']);
  });

  it('two ended branches at the same unmerged commit: one is kept, so the commit survives', async () => {
    await ws.create('a');
    await commitIn('a', 'a.txt');
    repo.git(['branch', 'agents/b', 'agents/a']);
    await ws.remove('a');
    const before = reachable();
    const r = await ws.cleanup('on_completion', ended({ a: 'completed', b: 'failed' }));
    expect(r.entries.map((e) => [e.name, e.action])).toEqual([['agents/a', 'keep'], ['agents/b', 'remove']]);
    expect(branches()).toEqual(['agents/a', 'main']);
    expect(reachable()).toBe(before);
  });

  it('keeps a worktree with uncommitted changes and its branch; never touches live agents or names that are not agents/<id>', async () => {
    await ws.create('dirty');
    writeFileSync(join(ws.pathOf('dirty'), 'wip.txt'), 'not committed\n');
    await ws.create('busy');
    for (const name of ['agents/x/y', 'agents/-x', 'feature']) repo.git(['branch', name, 'main']);
    const r = await ws.cleanup('on_completion', ended({ dirty: 'completed', busy: 'live' }), { deleteBranches: true });
    expect(r.entries.map((e) => [e.kind, e.action, e.reason])).toEqual([['worktree', 'keep', 'uncommitted'], ['branch', 'keep', 'uncommitted']]);
    expect(r.live).toEqual(['busy']);
    expect(branches()).toEqual(['agents/-x', 'agents/busy', 'agents/dirty', 'agents/x/y', 'feature', 'main']);
  });

  it("an agent this store does not know is left alone (another store may run it); with includeUnknown it counts as terminated: on_failure keeps its branch, on_completion deletes it once merged", async () => {
    repo.git(['branch', 'agents/stranger', 'main']);
    await ws.create('stranger2');
    const alone = await ws.cleanup('on_completion', ended({}));
    expect(alone.entries.map((e) => [e.kind, e.name.replace(/.*\//, ''), e.action, e.reason])).toEqual([
      ['branch', 'stranger', 'keep', 'unknown'], ['worktree', 'stranger2', 'keep', 'unknown'], ['branch', 'stranger2', 'keep', 'unknown'],
    ]);
    expect(existsSync(ws.pathOf('stranger2'))).toBe(true);
    await ws.remove('stranger2', { deleteBranch: true });
    const kept = await ws.cleanup('on_failure', ended({}), { includeUnknown: true });
    expect(kept.entries.map((e) => [e.name, e.action, e.detail])).toEqual([['agents/stranger', 'keep', 'agent is not in this store (counted as terminated: --include-unknown): policy on_failure keeps it']]);
    const dry = await ws.cleanup('on_completion', ended({}), { dryRun: true, includeUnknown: true });
    expect(dry.entries.map((e) => [e.name, e.action, e.reason])).toEqual([['agents/stranger', 'remove', 'merged']]);
    expect(branches()).toContain('agents/stranger');
    await ws.cleanup('on_completion', ended({}), { includeUnknown: true });
    expect(branches()).toEqual(['main']);
  });
});
