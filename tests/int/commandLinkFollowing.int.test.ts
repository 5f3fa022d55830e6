import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { refuseLinkFollowing } from '../../src/infra/workspace/refuseLinkFollowing.js';
import { createRepoWithEscape } from '../support/gitRepo.js';

/**
 * `ls -RL` from a model listed a committed symlink's folder outside the worktree, and `ls -lL`
 * showed its file's size and owner (a hostile-model try): no path was named, so no check saw it.
 */
describe('commands that follow symbolic links while walking', () => {
  const repo = createRepoWithEscape('cadre-follow-');
  writeFileSync(join(repo.outside, 'secret.txt'), 'outside the worktree');
  afterAll(() => repo.cleanup());

  it('are refused, naming the option; the same listing without it stays inside', async () => {
    const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['ls', 'grep'] });
    const ws = await port.create('a1', {});
    for (const args of [['-RL'], ['-lL', 'escape'], ['-L'], ['--dereference', '-R'], ['-R', '--dereference']]) {
      await expect(port.run!('a1', ws.path, 'ls', args, 5_000), args.join(' ')).rejects.toThrow(/follows symbolic links out of the worktree; refused/);
    }
    await expect(port.run!('a1', ws.path, 'grep', ['-Rn', 'outside', '.'], 5_000)).rejects.toThrow(/grep -R follows symbolic links/);
    const plain = await port.run!('a1', ws.path, 'ls', ['-R'], 5_000);
    expect(plain.exitCode).toBe(0);
    expect(plain.stdout).toContain('escape');
    expect(plain.stdout).not.toContain('secret.txt');
    const grep = await port.run!('a1', ws.path, 'grep', ['-rn', 'outside', '.'], 5_000);
    expect(grep.stdout).not.toContain('outside the worktree');
    port.stop?.();
  });

  it('leaves options that follow only the links a command names (those are checked where they lead)', () => {
    expect(() => refuseLinkFollowing('ls', ['-la', '-H', '--color=never'])).not.toThrow();
    expect(() => refuseLinkFollowing('cat', ['-L'])).not.toThrow();
    expect(() => refuseLinkFollowing('find', ['.', '-name', 'L*'])).not.toThrow();
    expect(() => refuseLinkFollowing('find', ['-L', '.'])).toThrow(/find -L/);
    expect(() => refuseLinkFollowing('ls', ['--', '-L'])).not.toThrow();
  });
});
