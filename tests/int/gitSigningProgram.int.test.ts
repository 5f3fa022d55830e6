import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * An agent's `git commit -S` started gpg with HOME in the worktree, where the model can write
 * gpg's config (`.gnupg/gpg.conf`): gpg made `.gnupg/` there (a hostile-model try). No signing
 * program runs for an agent's git.
 */
describe("an agent's git and the signing programs", () => {
  const repo = createTempRepo({ prefix: 'cadre-gpg-' });
  afterAll(() => repo.cleanup());
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['git'] });
  afterAll(() => port.stop?.());

  it('commit -S fails to sign without starting gpg; log --show-signature runs none either', async () => {
    const ws = await port.create('a1', {});
    writeFileSync(join(ws.path, 'x.txt'), 'x\n');
    expect((await port.run!('a1', ws.path, 'git', ['add', 'x.txt'], 10_000)).exitCode).toBe(0);
    const signed = await port.run!('a1', ws.path, 'git', ['commit', '-S', '-m', 'signed'], 10_000);
    expect(signed.exitCode).not.toBe(0);
    expect(signed.stderr).toMatch(/failed to sign/);
    const log = await port.run!('a1', ws.path, 'git', ['log', '--show-signature', '-1'], 10_000);
    expect(log.exitCode).toBe(0);
    expect(existsSync(join(ws.path, '.gnupg')), 'gpg ran with HOME in the worktree').toBe(false);
  });
});
