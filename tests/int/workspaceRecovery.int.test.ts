import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { createWorkspaceManager, type WorkspaceManager } from '../../src/infra/workspace/workspaceManager.js';
import { parseWorktreeList } from '../../src/infra/workspace/worktreeList.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

const managerModule = resolve('src/infra/workspace/workspaceManager.ts');
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');

/** Every registered worktree is complete: its folder exists, nothing is half-added or prunable. */
function assertConsistent(repo: TempRepo): void {
  for (const e of parseWorktreeList(repo.git(['worktree', 'list', '--porcelain', '-z']) + '\0')) {
    expect(e.prunable, e.path).toBeUndefined();
    expect(e.locked, e.path).toBeUndefined();
    expect(existsSync(join(e.path, '.git')), e.path).toBe(true);
  }
}

describe('recovery', () => {
  let repo: TempRepo;
  let ws: WorkspaceManager;

  beforeEach(async () => {
    repo = createTempRepo();
    ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
  });
  afterEach(() => repo.cleanup());

  it('recreates live agents whose worktree folder was deleted and prunes orphans per policy', async () => {
    for (const id of ['live', 'orphan-done', 'orphan-failed', 'orphan-gone']) await ws.create(id);
    writeFileSync(join(ws.pathOf('live'), 'work.txt'), 'committed work\n');
    await ws.commit('live', 'work');
    rmSync(ws.pathOf('live'), { recursive: true, force: true });
    rmSync(ws.pathOf('orphan-gone'), { recursive: true, force: true });
    expect((await ws.list()).find((l) => l.agentId === 'live')?.exists).toBe(false);

    const result = await ws.reconcile(new Map([['live', { baseBranch: 'main' }]]), 'on_failure', {
      outcomes: new Map([['orphan-failed', 'failed'], ['orphan-done', 'completed']]),
    });
    expect(result.recreated).toEqual(['live']);
    expect(result.removed.slice().sort()).toEqual(['orphan-done', 'orphan-gone']);
    expect(result.kept).toEqual(['orphan-failed']);
    expect(readFileSync(join(ws.pathOf('live'), 'work.txt'), 'utf8')).toBe('committed work\n');
    assertConsistent(repo);
    expect((await ws.list()).map((l) => l.agentId).sort()).toEqual(['live', 'orphan-failed']);
    // The recorded base survived, so the diff still works.
    expect((await ws.diff('live')).files.map((f) => f.path)).toEqual(['work.txt']);
    // A second pass has nothing to do.
    expect(await ws.reconcile(new Map([['live', {}]]), 'on_failure', { outcomes: new Map([['orphan-failed', 'failed']]) })).toEqual({
      removed: [],
      recreated: [],
      kept: ['orphan-failed'],
    });
  });

  it('recovers after a process creating worktrees is SIGKILLed mid-operation', async () => {
    // Enough files that each checkout takes a while, so the kill usually lands inside one.
    const big = createTempRepo({ files: Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`src/m${i % 30}/f${i}.txt`, `file ${i}\n`])) });
    repo.cleanup();
    repo = big;
    ws = await createWorkspaceManager({ repo: repo.path, basePath: repo.basePath });
    const script = join(repo.dir, 'creator.mts');
    writeFileSync(
      script,
      `import { createWorkspaceManager } from ${JSON.stringify(managerModule)};
const ws = await createWorkspaceManager({ repo: ${JSON.stringify(repo.path)}, basePath: ${JSON.stringify(repo.basePath)} });
for (let i = 0; ; i++) {
  await Promise.all([0, 1, 2].map((j) => ws.create('k' + (i * 3 + j))));
  process.stdout.write('created ' + (i * 3 + 2) + '\\n');
}
`,
    );
    // Its own process group, so the kill takes its git children too, as a crash would.
    const child = spawn(process.execPath, [tsxCli, script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    // After a few rounds, kill the moment a `git worktree add` is under way (git marks the
    // new worktree "locked: initializing" until its checkout is done).
    const adminDir = join(repo.path, '.git', 'worktrees');
    const addInProgress = (): boolean => readdirSync(adminDir).some((n) => existsSync(join(adminDir, n, 'locked')));
    await new Promise<void>((r, reject) => {
      let seen = 0;
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString().split('\n').filter((l) => l.startsWith('created')).length;
        if (seen !== 2) return;
        const started = Date.now();
        const poll = setInterval(() => {
          if (addInProgress() || Date.now() - started > 3000) {
            clearInterval(poll);
            r();
          }
        }, 1);
      });
      child.on('exit', () => reject(new Error(`creator exited early: ${stderr}`)));
    });
    process.kill(-child.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');

    expect(addInProgress()).toBe(true);
    // Counted from git's admin folder: with an add cut short, `git worktree list` itself may fail
    // ("failed to read .../commondir"), which is exactly what reconcile has to repair.
    expect(readdirSync(adminDir).length).toBeGreaterThanOrEqual(6);
    // k0..k2 stay alive; everything else the dead process made is an orphan.
    const live = new Map(['k0', 'k1', 'k2'].map((id) => [id, { baseBranch: 'main' }] as const));
    const result = await ws.reconcile(live, 'on_completion', { staleLockMs: 0, deleteBranches: true });
    expect(result.kept).toEqual([]);
    assertConsistent(repo);
    expect((await ws.list()).map((l) => l.agentId).sort()).toEqual(['k0', 'k1', 'k2']);
    // Nothing half-added is left in git's own records either.
    for (const name of readdirSync(adminDir)) {
      expect(existsSync(join(adminDir, name, 'locked')), name).toBe(false);
      expect(existsSync(join(adminDir, name, 'gitdir')), name).toBe(true);
    }
    // Orphans' branches went with them; a branch whose `-b` ran just before the kill may
    // survive without a worktree (it holds no work and is reused by the next create).
    const branches = repo.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/agents/']).split('\n');
    expect(branches).toEqual(expect.arrayContaining(['agents/k0', 'agents/k1', 'agents/k2']));
    expect(branches.length).toBeLessThanOrEqual(4);

    // Git works normally again: new worktrees, including ids the dead process had started on.
    const again = await Promise.all(['k6', 'k7', 'k8', 'fresh'].map((id) => ws.create(id)));
    expect(again.every((a) => a.status === 'created' || a.status === 'recreated')).toBe(true);
    writeFileSync(join(ws.pathOf('k6'), 'x.txt'), 'x');
    expect(await ws.commit('k6', 'after recovery')).not.toBeNull();
    assertConsistent(repo);
  });
});
