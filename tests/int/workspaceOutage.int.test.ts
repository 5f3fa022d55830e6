import { afterAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { createGitRunner } from '../../src/infra/workspace/gitRunner.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * Git unavailable when the workspace port is first used (a process recovering during a git
 * outage): the failure is reported, not remembered — once git is back, the same port works.
 */
const repo = createTempRepo({ prefix: 'cadre-git-outage-' });
afterAll(() => repo.cleanup());

/** A workspace port whose `git` fails while git is down; git starts down. */
function portThroughOutage(name: string): { port: ReturnType<typeof createWorkspacePort>; gitBack(): void } {
  const down = join(repo.dir, `${name}-git-is-down`);
  const bin = join(repo.dir, `${name}-bin`);
  mkdirSync(bin);
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\nif [ -e '${down}' ]; then echo "fatal: injected git failure" >&2; exit 128; fi\nexec '${realGit}' "$@"\n`);
  chmodSync(join(bin, 'git'), 0o755);
  writeFileSync(down, '');
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, git: createGitRunner({ binary: join(bin, 'git') }) });
  return { port, gitBack: () => rmSync(down) };
}

describe('workspaces through a git outage', () => {
  it('a failed first open is retried on the next use', async () => {
    const { port, gitBack } = portThroughOutage('open');
    await expect(port.create('8b0c5a34-3f43-4a8e-9a57-0d7b4c3e0a11', {})).rejects.toThrow(/injected git failure/);
    gitBack();
    const info = await port.create('8b0c5a34-3f43-4a8e-9a57-0d7b4c3e0a11', {});
    expect(info.branch).toBe('agents/8b0c5a34-3f43-4a8e-9a57-0d7b4c3e0a11');
    expect(existsSync(info.path)).toBe(true);
    await port.remove('8b0c5a34-3f43-4a8e-9a57-0d7b4c3e0a11', { deleteBranch: true });
  });

  it("an agent's worktree still counts as reachable while git is down, and another repository's does not once it is back", async () => {
    // A worker that declined every worktree agent while git was down left them all for a minute:
    // a clean-clone CI run's fault seed (worktrees, git outage) then ran past its 420 s limit.
    const { port, gitBack } = portThroughOutage('reaches');
    const id = '5d7e0c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6';
    expect(await port.reaches!(id, join(repo.basePath, id))).toBe(true);
    gitBack();
    expect(await port.reaches!(id, join(repo.basePath, id))).toBe(true);
    expect(await port.reaches!(id, join(repo.dir, 'elsewhere', id))).toBe(false);
  });
});
