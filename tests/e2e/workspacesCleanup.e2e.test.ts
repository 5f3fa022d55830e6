import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCadre, type CliRun } from '../support/cadreCli.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';

/**
 * `cadre workspaces cleanup` on a repository where ended agents left their `agents/<id>`
 * branches (issue 18: 36 of them piled up and `--dry-run` reported 0), through the real bin:
 * `merged` completed and its branch was merged into main by hand, `unmerged` completed with a
 * commit nobody merged, `failed` failed before writing anything (its worktree is still there),
 * and `live` was spawned and never run (a branch with its name was made by hand).
 */
describe('workspaces cleanup of ended agents\' branches, per policy', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cadre-ws-cleanup-'));
  let repo: TempRepo;
  const ids = { merged: '', unmerged: '', failed: '', live: '' };
  const branch = (name: keyof typeof ids): string => `agents/${ids[name]}`;
  const worktree = (name: keyof typeof ids): string => join(repo.basePath, ids[name]);

  function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', LOG_LEVEL: 'error', CADRE_DATA_DIR: join(scratch, 'db'), WORKSPACE_REPO: repo.path, WORKSPACE_BASE_PATH: repo.basePath, ...extra };
    for (const k of ['DATABASE_URL', 'EVENT_STORE', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL']) if (!(k in extra)) delete e[k];
    return e;
  }
  const cleanup = (policy: string, ...args: string[]): Promise<CliRun> => runCadre(['workspaces', 'cleanup', ...args], env({ WORKSPACE_CLEANUP_POLICY: policy }));
  const branches = (): string[] => repo.git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/agents/']).split('\n').filter(Boolean).sort();
  const all = (...names: Array<keyof typeof ids>): string[] => names.map(branch).sort();

  beforeAll(async () => {
    repo = createTempRepo({ prefix: 'cadre-ws-cleanup-repo-' });
    const spawnRun = async (e: NodeJS.ProcessEnv): Promise<string> => {
      const r = await runCadre(['spawn', '--role', 'writer', '--task', 'Write NOTES.md', '--budget', '10000', '--workspace', '--run', '--json'], e);
      return (JSON.parse(r.stdout) as { state: { id: string } }).state.id;
    };
    // The runtime removes the worktrees of completed agents at their end and keeps their branches.
    ids.merged = await spawnRun(env());
    repo.git(['merge', '--quiet', '--ff-only', branch('merged')]);
    ids.unmerged = await spawnRun(env());
    const api = await startFakeMessagesApi();
    try {
      api.setFallback(() => ({ kind: 'error', status: 400, type: 'invalid_request_error', message: 'no', headers: { 'x-should-retry': 'false' } }));
      ids.failed = await spawnRun(env({ ANTHROPIC_API_KEY: 'sk-ant-api03-not-a-real-key', ANTHROPIC_BASE_URL: api.url, WORKSPACE_CLEANUP_POLICY: 'on_failure' }));
    } finally {
      await api.close();
    }
    const spawned = await runCadre(['spawn', '--role', 'r', '--task', 't', '--budget', '100', '--workspace', '--json'], env());
    ids.live = (JSON.parse(spawned.stdout) as { id: string }).id;
    repo.git(['branch', branch('live'), 'main']); // merged into main, but its agent has not ended

    expect(branches()).toEqual(all('merged', 'unmerged', 'failed', 'live'));
    expect([existsSync(worktree('merged')), existsSync(worktree('unmerged')), existsSync(worktree('failed'))]).toEqual([false, false, true]);
  }, 300_000);
  afterAll(() => {
    repo.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('never keeps every worktree and branch and lists them as kept', async () => {
    const r = await cleanup('never');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nothing to remove, policy never');
    expect(r.stdout).toContain(`kept 1 worktree (`);
    expect(r.stdout).toContain(`and 3 branches:`);
    expect(r.stdout).toContain(`branch   ${branch('merged')} (agent completed: policy never keeps it)`);
    expect(r.stdout).toContain(`worktree ${worktree('failed')} (agent failed: policy never keeps it)`);
    expect(r.stdout).toContain('left alone: 1 live agent');
    expect(branches()).toEqual(all('merged', 'unmerged', 'failed', 'live'));
    expect(existsSync(worktree('failed'))).toBe(true);
  }, 120_000);

  it('on_failure: --dry-run lists the merged branch of the completed agent, keeps the failed agent\'s worktree and branch and the unmerged branch, removes nothing', async () => {
    const r = await cleanup('on_failure', '--dry-run');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would remove 1 branch, policy on_failure:\n  branch   ${branch('merged')} (agent completed; merged into main)\nwould keep`);
    expect(r.stdout).toContain(`worktree ${worktree('failed')} (agent failed: policy on_failure keeps it)`);
    expect(r.stdout).toContain(`branch   ${branch('failed')} (agent failed: policy on_failure keeps it)`);
    expect(r.stdout).toContain(`branch   ${branch('unmerged')} (agent completed; holds commits no other branch has)`);
    expect(r.stdout).not.toContain(ids.live);
    expect(branches()).toEqual(all('merged', 'unmerged', 'failed', 'live'));
    expect(existsSync(worktree('failed'))).toBe(true);
  }, 120_000);

  it('on_completion: --dry-run lists the merged branch, the failed agent\'s worktree and branch (no commits of its own), and changes nothing', async () => {
    const r = await cleanup('on_completion', '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { dryRun: boolean; entries: Array<{ name: string; action: string; reason: string }>; live: string[] };
    expect(plan.dryRun).toBe(true);
    expect(plan.entries.map((e) => [e.name, e.action, e.reason]).sort()).toEqual([
      [branch('failed'), 'remove', 'no_commits'],
      [branch('merged'), 'remove', 'merged'],
      [branch('unmerged'), 'keep', 'unmerged'],
      [worktree('failed'), 'remove', 'ended'],
    ].sort());
    expect(plan.live).toEqual([ids.live]);
    expect(branches()).toEqual(all('merged', 'unmerged', 'failed', 'live'));
    expect(existsSync(worktree('failed'))).toBe(true);
  }, 120_000);

  it('on_completion removes what its dry run listed and keeps the unmerged branch and the live agent\'s', async () => {
    const r = await cleanup('on_completion');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^removed 1 worktree \(.*\) and 2 branches, policy on_completion:\n/);
    expect(r.stdout).toContain(`kept 1 branch:\n  branch   ${branch('unmerged')} (agent completed; holds commits no other branch has)`);
    expect(branches()).toEqual(all('unmerged', 'live'));
    expect(existsSync(worktree('failed'))).toBe(false);
  }, 120_000);

  it('--delete-branches deletes the unmerged branch too; the live agent\'s branch is never touched', async () => {
    const r = await cleanup('on_completion', '--delete-branches');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`removed 1 branch, policy on_completion:\n  branch   ${branch('unmerged')} (agent completed; holds commits no other branch has (deleted: --delete-branches))`);
    expect(branches()).toEqual(all('live'));
  }, 120_000);
});
