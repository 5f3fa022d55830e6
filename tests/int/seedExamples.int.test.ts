import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createTempRepo } from '../support/gitRepo.js';
import { testSystem } from '../support/system.js';
import { InvalidInput } from '../../src/errors.js';

const exec = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'cadre-seed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The seed's examples run as a user runs a pasted script: its own process, no system created
 * or closed by hand, the environment's defaults (embedded store, offline model). It must do
 * what the seed says and then end by itself (the default system closes once nothing uses it).
 */
describe("the seed document's examples, pasted into a script", () => {
  it('spawn, a team, messages, fire, workflows from a template and from the seed-shaped template; the process ends by itself', async () => {
    const repo = createTempRepo({ prefix: 'cadre-seed-repo-', files: { 'README.md': '# app\n' } });
    const worktrees = join(work, 'agent-workspaces');
    const env = {
      PATH: process.env.PATH ?? '', HOME: work, NO_COLOR: '1', LOG_LEVEL: 'error',
      CADRE_DATA_DIR: join(work, 'db'), WORKSPACE_REPO: repo.path, SEED_WORKTREES: worktrees, CADRE_TEMPLATES_DIR: join(work, 'templates'),
      // The script imports 'cadre'; tsx maps it to the source through the repository's tsconfig paths.
      TSX_TSCONFIG_PATH: join(process.cwd(), 'tsconfig.json'),
    };
    const started = Date.now();
    const { stdout } = await exec('node', ['--import', join(process.cwd(), 'node_modules', 'tsx', 'dist', 'esm', 'index.mjs'), join(process.cwd(), 'examples', 'seed', 'quickstart.ts')], { env, cwd: work, timeout: 240_000, maxBuffer: 16 << 20 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as {
      first: { status: string; consumed: number; workspace: { path: string } | null };
      team: { status: string; children: string[] };
      received: unknown[];
      budget: { allocated: number; available: number };
      helperWorkspace: unknown;
      workflow: string;
      tdd: { status: string; nodes: string[] };
    };
    expect(out.first.status).toBe('completed');
    expect(out.first.consumed).toBeGreaterThan(0);
    // workspaceConfig.basePath honoured: the worktree was made there (and removed at the end, per the default policy).
    expect(existsSync(worktrees)).toBe(true);
    expect(out.team).toEqual({ status: 'completed', children: ['completed', 'completed'] });
    expect(out.received).toEqual([{ type: 'data_ready', payload: { records: 1000, status: 'processed' } }]);
    expect(out.budget).toMatchObject({ allocated: 20000, available: 20000 });
    expect(out.helperWorkspace).toBeNull(); // isolationEnabled: false
    expect(out.workflow).toBe('completed');
    expect(out.tdd).toEqual({ status: 'completed', nodes: ['architect:completed', 'tester:completed', 'implementer:completed', 'reviewer:completed'] });
    expect(Date.now() - started).toBeLessThan(240_000);
    rmSync(repo.dir, { recursive: true, force: true });
  }, 300_000);

  it("workspaceConfig: isolationEnabled false means no worktree, even a child's inherited one; a basePath other than the system's is refused naming it; unknown keys too", async () => {
    const repo = createTempRepo({ prefix: 'cadre-seed-ws-' });
    const system = await testSystem('pglite', { workspace: { repo: repo.path, basePath: repo.basePath } });
    try {
      const lead = await system.spawn({ role: 'lead', task: 't', budget: 20_000, workspaceConfig: { basePath: repo.basePath, isolationEnabled: true } });
      expect((await system.history(lead.id)).find((e) => e.type === 'AgentSpawned')?.data).toMatchObject({ workspace: {} });
      const plain = await lead.spawn({ role: 'helper', task: 't', budget: 1_000, workspaceConfig: { isolationEnabled: false } });
      expect((await system.history(plain.id)).find((e) => e.type === 'AgentSpawned')?.data).toMatchObject({ workspace: null });
      const inheriting = await lead.spawn({ role: 'helper', task: 't', budget: 1_000 });
      expect((await system.history(inheriting.id)).find((e) => e.type === 'AgentSpawned')?.data).toMatchObject({ workspace: {} });

      const elsewhere = await system.spawn({ role: 'r', task: 't', budget: 1_000, workspaceConfig: { basePath: join(work, 'elsewhere'), isolationEnabled: true } }).catch((e: unknown) => e);
      expect(elsewhere).toBeInstanceOf(InvalidInput);
      expect((elsewhere as InvalidInput).field).toBe('workspaceConfig.basePath');
      expect((elsewhere as Error).message).toContain(repo.basePath);
      const typo = await system.spawn({ role: 'r', task: 't', budget: 1_000, workspaceConfig: { isolationEnabeld: false } as never }).catch((e: unknown) => e);
      expect(typo).toBeInstanceOf(InvalidInput);
      expect((typo as InvalidInput).field).toMatch(/^spawn\.workspaceConfig/);
    } finally {
      await system.close();
      repo.cleanup();
    }
  });
});
