import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWorkspaceManager, type WorkspaceManager } from '../../src/infra/workspace/workspaceManager.js';
import { InvalidInput, WorkspaceError } from '../../src/errors.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

describe('workspace lifecycle', () => {
  let repo: TempRepo;
  let ws: WorkspaceManager;

  beforeEach(async () => {
    repo = createTempRepo();
    ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
  });
  afterEach(() => repo.cleanup());

  it('creates 50 worktrees at once, all on their own branches', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const infos = await Promise.all(ids.map((id) => ws.create(id)));
    expect(infos.every((i) => i.status === 'created' && i.baseBranch === 'main')).toBe(true);
    const listed = await ws.list();
    expect(listed.map((l) => l.agentId).sort()).toEqual(ids.slice().sort());
    expect(listed.every((l) => l.exists && l.branch === `agents/${l.agentId}`)).toBe(true);
    // Idempotent: asking again returns the same worktrees.
    const again = await Promise.all(ids.slice(0, 5).map((id) => ws.create(id)));
    expect(again.map((i) => i.status)).toEqual(Array(5).fill('existing'));
    expect(again[0]!.baseCommit).toBe(infos[0]!.baseCommit);
  });

  it('removes worktrees, deletes branches only when asked, refuses dirty ones unless forced', async () => {
    await ws.create('keep-branch');
    await ws.create('drop-branch');
    expect(await ws.remove('keep-branch')).toEqual({ removed: true, branchDeleted: false });
    expect(repo.git(['branch', '--list', 'agents/keep-branch'])).toContain('agents/keep-branch');
    expect(await ws.remove('drop-branch', { deleteBranch: true })).toEqual({ removed: true, branchDeleted: true });
    expect(repo.git(['branch', '--list', 'agents/drop-branch'])).toBe('');
    expect(repo.git(['config', '--list'])).not.toContain('agents/drop-branch');
    expect(await ws.remove('drop-branch')).toEqual({ removed: false, branchDeleted: false });

    // The kept branch brings the worktree back with its committed work.
    expect((await ws.create('keep-branch')).status).toBe('recreated');

    await ws.create('dirty');
    writeFileSync(join(ws.pathOf('dirty'), 'scratch.txt'), 'x');
    await expect(ws.remove('dirty')).rejects.toThrow(/uncommitted changes/);
    expect(await ws.remove('dirty', { force: true, deleteBranch: true })).toEqual({ removed: true, branchDeleted: true });
    expect(repo.git(['worktree', 'list', '--porcelain'])).not.toContain('dirty');
  });

  it('commits the work around files git refuses to add, naming them in the message', async () => {
    const { path } = await ws.create('odd-names');
    mkdirSync(join(path, 'sub'));
    for (const f of ['work.txt', '.git.', 'sub/git~1', 'sub/ok.txt']) writeFileSync(join(path, f), f);
    const c = await ws.commit('odd-names', 'the work');
    expect([...c!.files].sort()).toEqual(['sub/ok.txt', 'work.txt']);
    expect(repo.git(['ls-tree', '-r', '--name-only', 'agents/odd-names']).split('\n')).toEqual(expect.arrayContaining(['sub/ok.txt', 'work.txt']));
    expect(repo.git(['log', '-1', '--format=%B', 'agents/odd-names'])).toContain('Left out, names git refuses: ".git.", "sub/git~1"');
    // Only refused names left: nothing to commit.
    writeFileSync(join(path, 'GIT~1'), 'x');
    expect(await ws.commit('odd-names', 'again')).toBeNull();
  });

  it('lists disk use', async () => {
    await ws.create('small');
    await ws.create('big');
    const before = (await ws.list()).find((l) => l.agentId === 'big')!.diskBytes;
    expect(before).toBeGreaterThan(0);
    mkdirSync(join(ws.pathOf('big'), 'data'));
    writeFileSync(join(ws.pathOf('big'), 'data', 'blob.bin'), Buffer.alloc(256 * 1024, 7));
    const listed = await ws.list();
    const big = listed.find((l) => l.agentId === 'big')!;
    expect(big.diskBytes - before).toBeGreaterThanOrEqual(256 * 1024);
    expect(big.head).toBe(repo.git(['rev-parse', 'main']));
  });

  it('validates the repository, the base path and ids', async () => {
    await expect(createWorkspaceManager({ repo: repo.dir })).rejects.toThrow(/not a git repository/);
    await expect(createWorkspaceManager({ repo: join(repo.dir, 'missing') })).rejects.toThrow(WorkspaceError);
    await expect(createWorkspaceManager({ repo: repo.path, basePath: join(repo.path, 'wt') })).rejects.toThrow(/inside the repository/);
    const byDefault = await createWorkspaceManager({ repo: repo.path });
    expect(byDefault.basePath).toBe(join(repo.dir, '.cadre-worktrees', 'repo'));
    await expect(ws.create('../evil')).rejects.toBeInstanceOf(InvalidInput);
    await expect(ws.create('x', { baseBranch: '--upload-pack=evil' })).rejects.toBeInstanceOf(InvalidInput);
    await expect(ws.create('x', { baseBranch: 'no-such-branch' })).rejects.toThrow(/no-such-branch does not exist/);
    await expect(ws.commit('never-created', 'm')).rejects.toThrow(/no usable worktree/);
  });
});
