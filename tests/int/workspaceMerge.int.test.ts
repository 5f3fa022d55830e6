import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkspaceManager, type WorkspaceManager } from '../../src/infra/workspace/workspaceManager.js';
import { WorkspaceError } from '../../src/errors.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

describe('merging agent branches', () => {
  let repo: TempRepo;
  let ws: WorkspaceManager;

  beforeEach(async () => {
    repo = createTempRepo({ files: { 'README.md': 'line one\nline two\n' } });
    ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
    await ws.create('parent');
    await ws.create('a', { baseBranch: 'agents/parent' });
    await ws.create('b', { baseBranch: 'agents/parent' });
  });
  afterEach(() => repo.cleanup());

  const edit = (agent: string, file: string, content: string): void => writeFileSync(join(ws.pathOf(agent), file), content);

  it('reports a conflict as an outcome and leaves the parent exactly as before', async () => {
    edit('a', 'README.md', 'line one by a\nline two\n');
    edit('b', 'README.md', 'line one by b\nline two\n');
    await ws.commit('a', 'a edits');
    await ws.commit('b', 'b edits');

    const first = await ws.merge('a', 'parent');
    expect(first).toMatchObject({ status: 'merged', files: ['README.md'] });
    const headAfterFirst = repo.git(['rev-parse', 'agents/parent']);

    const second = await ws.merge('b', 'parent');
    expect(second).toEqual({ status: 'conflict', files: ['README.md'] });

    const parent = ws.pathOf('parent');
    expect(repo.git(['rev-parse', 'HEAD'], parent)).toBe(headAfterFirst);
    expect(repo.git(['status', '--porcelain'], parent)).toBe('');
    const gitDir = repo.git(['rev-parse', '--absolute-git-dir'], parent);
    expect(existsSync(join(gitDir, 'MERGE_HEAD'))).toBe(false);
    const content = readFileSync(join(parent, 'README.md'), 'utf8');
    expect(content).toBe('line one by a\nline two\n');
    expect(content).not.toMatch(/^(<<<<<<<|=======|>>>>>>>)/m);

    // A conflict changes nothing, so the same merge conflicts again, and the merged child is up to date.
    expect((await ws.merge('b', 'parent')).status).toBe('conflict');
    expect(await ws.merge('a', 'parent')).toEqual({ status: 'up_to_date' });
  });

  it('merges non-overlapping siblings, into a branch nobody has checked out too', async () => {
    edit('a', 'a.txt', 'a\n');
    edit('b', 'b.txt', 'b\n');
    await ws.commit('a', 'a');
    await ws.commit('b', 'b');
    expect(await ws.merge('a', 'parent')).toMatchObject({ status: 'merged', files: ['a.txt'] });
    expect(await ws.merge('b', 'parent')).toMatchObject({ status: 'merged', files: ['b.txt'] });
    expect(repo.git(['ls-tree', '--name-only', 'agents/parent']).split('\n').sort()).toEqual(['README.md', 'a.txt', 'b.txt']);

    repo.git(['branch', 'release', 'main']);
    const r = await ws.merge('parent', { branch: 'release' });
    expect(r).toMatchObject({ status: 'merged' });
    expect(repo.git(['ls-tree', '--name-only', 'release']).split('\n').sort()).toEqual(['README.md', 'a.txt', 'b.txt']);
    // The temporary worktree is gone and the user's checkout was not touched.
    expect(repo.git(['worktree', 'list']).split('\n')).toHaveLength(4);
    expect(repo.git(['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
    expect(existsSync(join(repo.path, 'a.txt'))).toBe(false);
  });

  it('refuses to merge into a worktree with uncommitted changes, and diffs against the base', async () => {
    edit('a', 'a.txt', 'one\ntwo\n');
    await ws.commit('a', 'a');
    edit('parent', 'wip.txt', 'not committed\n');
    await expect(ws.merge('a', 'parent')).rejects.toThrow(/uncommitted changes/);
    expect(await ws.commit('parent', 'wip')).toMatchObject({ files: ['wip.txt'] });
    expect(await ws.commit('parent', 'nothing')).toBeNull();
    expect((await ws.merge('a', 'parent')).status).toBe('merged');

    const d = await ws.diff('a');
    expect(d).toMatchObject({ branch: 'agents/a', truncated: false, stat: { files: 1, additions: 2, deletions: 0 } });
    expect(d.files).toEqual([{ path: 'a.txt', status: 'added', additions: 2, deletions: 0 }]);
    expect(d.patch).toContain('+++ b/a.txt');
    expect(d.baseCommit).toBe(repo.git(['rev-parse', 'main']));
    await expect(ws.merge('nobody', 'parent')).rejects.toBeInstanceOf(WorkspaceError);
  });
});
