import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import { createTempRepo, type TempRepo } from '../support/gitRepo.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * Where agents' worktrees come from, as a new user met it: a WORKSPACE_REPO naming a folder
 * inside another repository made worktrees and branches in that one; a typo failed the agent
 * after 20 s of retries; an agent asking for a worktree, run from a process with no repository,
 * ran without one and nothing said so.
 */
describe('the repository agents work in', () => {
  let repo: TempRepo;
  beforeAll(() => {
    repo = createTempRepo();
    mkdirSync(join(repo.path, 'docs'));
  });
  afterAll(() => repo.cleanup());

  const open = (env: Record<string, string>, extra: Record<string, unknown> = {}) =>
    createAgentSystem({ store: { kind: 'pglite' }, schema: freshSchema('repo'), model: { provider: 'offline' }, env, ...extra });

  it('refuses at start a WORKSPACE_REPO that does not exist, is a file, or lies inside another repository, naming it', async () => {
    await expect(open({ WORKSPACE_REPO: join(repo.path, 'nope') })).rejects.toThrow(/invalid WORKSPACE_REPO: .*nope does not exist: give the top folder of a git repository/);
    await expect(open({ WORKSPACE_REPO: join(repo.path, 'README.md') })).rejects.toThrow(/invalid WORKSPACE_REPO: .* is not a folder/);
    await expect(open({ WORKSPACE_REPO: join(repo.path, 'docs') })).rejects.toThrow(new RegExp(`invalid WORKSPACE_REPO: .*docs is not the top folder of a git repository \\(it lies inside ${repo.path}\\): give ${repo.path}`));
    await expect(open({}, { workspace: { repo: join(repo.path, 'docs') } })).rejects.toThrow(/invalid workspace\.repo: /);
    // Read-only commands are not held to it: they make no worktree.
    await (await open({ WORKSPACE_REPO: join(repo.path, 'nope') }, { readOnly: true })).close();
    const fine = await open({ WORKSPACE_REPO: repo.path, WORKSPACE_BASE_PATH: repo.basePath });
    await fine.close();
  });

  it('an agent asking for a worktree is refused by run() where there is no repository, and left by a host there to one that has it', async () => {
    const schema = freshSchema('repo');
    const store = { kind: 'postgres' as const, connectionString: testPgUrl() };
    const withRepo = (): Promise<AgentSystem> => createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspace: { repo: repo.path, basePath: repo.basePath } });
    const first = await withRepo();
    const ids = [(await first.spawn({ role: 'writer', task: 'write notes', budget: 20_000, workspace: true })).id, (await first.spawn({ role: 'writer', task: 'more notes', budget: 20_000, workspace: true })).id];
    await first.close();
    // Another process, started where there is no repository.
    const without = await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspacePort: null });
    try {
      await expect(without.get(ids[0]!).run()).rejects.toThrow(/invalid workspace: writer \S+ cannot run here: it asks for a git worktree, and this process has no git repository: run it inside /);
      expect((await without.get(ids[0]!).state()).status).toBe('spawned');
      // A host here (a worker, `start`) does not run it bare: it leaves it.
      await without.internal.runtime.start(ids[1]!);
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await without.history(ids[1]!)).map((e) => e.type)).not.toContain('ModelRequested');
    } finally {
      await without.close();
    }
    const again = await withRepo();
    try {
      for (const id of ids) {
        expect((await again.get(id).run()).status).toBe('completed');
        expect((await again.history(id)).map((e) => e.type)).toContain('WorkspaceCreated');
      }
    } finally {
      await again.close();
    }
  });

  it('an agent spawned to work in one repository is left alone by a process in another, and run() there is refused naming both', async () => {
    const second = createTempRepo({ prefix: 'cadre-second-repo-', files: { 'OTHER.md': 'another project\n' } });
    try {
      const schema = freshSchema('repo');
      const store = { kind: 'postgres' as const, connectionString: testPgUrl() };
      const inFirst = await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspace: { repo: repo.path, basePath: repo.basePath } });
      const id = (await inFirst.spawn({ role: 'writer', task: 'notes for the first project', budget: 20_000, workspace: true })).id;
      await inFirst.close();
      const inSecond = await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspace: { repo: second.path, basePath: second.basePath } });
      try {
        await expect(inSecond.get(id).run()).rejects.toThrow(new RegExp(`cannot run here: it works in the repository ${repo.path}, and this process's is ${second.path}`));
        await inSecond.internal.runtime.start(id);
        await new Promise((r) => setTimeout(r, 1_500));
        expect((await inSecond.history(id)).map((e) => e.type)).not.toContain('WorkspaceCreated');
      } finally {
        await inSecond.close();
      }
      expect(second.git(['branch', '--list', 'agents/*'])).toBe('');
      const back = await createAgentSystem({ store, schema, model: { provider: 'offline' }, env: {}, workspace: { repo: repo.path, basePath: repo.basePath } });
      try {
        expect((await back.get(id).run()).status).toBe('completed');
        const created = (await back.history(id)).find((e) => e.type === 'WorkspaceCreated');
        expect(created?.type === 'WorkspaceCreated' && created.data.path.startsWith(repo.basePath)).toBe(true);
      } finally {
        await back.close();
      }
    } finally {
      second.cleanup();
    }
  });

  it('a repository with no commit yet refuses a worktree at spawn (it failed at the first step, three tries later)', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cadre-empty-repo-'));
    execFileSync('git', ['init', '--quiet'], { cwd: empty });
    try {
      const system = await open({ WORKSPACE_REPO: empty, WORKSPACE_BASE_PATH: join(empty, '..', `${basename(empty)}-worktrees`) });
      try {
        await expect(system.spawn({ role: 'writer', task: 'notes', budget: 20_000, workspace: true })).rejects.toThrow(/invalid workspace: the repository \S+ has no commit yet, and a worktree branches from one: make a first commit/);
        expect(await system.store.headPosition()).toBe(0n);
      } finally {
        await system.close();
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
