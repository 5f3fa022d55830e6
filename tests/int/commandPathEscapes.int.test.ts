import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * Paths in command arguments that read as inside the worktree but are not, as the kernel
 * resolves them (a hostile-model try): `..` after a symbolic link climbs from where the link
 * leads, and a path not made yet under a link is made where the link leads.
 */
describe('command arguments that leave the worktree through a symbolic link', () => {
  const outside = realpathSync(mkdtempSync(join(tmpdir(), 'cadre-escape-outside-')));
  mkdirSync(join(outside, 'sub'));
  writeFileSync(join(outside, 'secret.txt'), 'TOPSECRET-OUTSIDE');
  const repo = createTempRepo({ prefix: 'cadre-escape-', files: { 'notes.txt': 'inside\n', 'deep/a/b/keep.txt': 'x\n' } });
  // Links as a repository may hold them: one to a folder outside, one relative link upwards.
  symlinkSync(join(outside, 'sub'), join(repo.path, 'escape'));
  symlinkSync('..', join(repo.path, 'deep/a/b/up'));
  repo.git(['add', '--all']);
  repo.git(['commit', '-q', '-m', 'links']);
  afterAll(() => {
    repo.cleanup();
    rmSync(outside, { recursive: true, force: true });
  });
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['cat', 'ls', 'sort', 'wc', 'tar'] });
  afterAll(() => port.stop?.());

  it('refuses `..` after a link, which the kernel applies where the link leads', async () => {
    const ws = await port.create('a1', {});
    for (const path of ['escape/../secret.txt', 'deep/a/b/up/../../../../secret.txt', 'deep/../notes.txt']) {
      await expect(port.run!('a1', ws.path, 'cat', [path], 5_000), path).rejects.toThrow(/holds a `\.\.` component/);
    }
    await expect(port.run!('a1', ws.path, 'ls', ['-la', 'escape/..'], 5_000)).rejects.toThrow(/holds a `\.\.` component/);
  });

  it('refuses a path not made yet under a link to outside (sort -o escape/new.txt wrote outside)', async () => {
    const ws = await port.create('a2', {});
    await expect(port.run!('a2', ws.path, 'sort', ['-o', 'escape/new.txt', 'notes.txt'], 5_000)).rejects.toThrow(/outside the worktree \(through a symbolic link\)/);
    await expect(port.run!('a2', ws.path, 'sort', ['--output=escape/new.txt', 'notes.txt'], 5_000)).rejects.toThrow(/through a symbolic link/);
    expect(existsSync(join(outside, 'sub', 'new.txt'))).toBe(false);
    await expect(port.run!('a2', ws.path, 'cat', ['escape/anything'], 5_000)).rejects.toThrow(/outside the worktree/);
  });

  it('refuses options that open the paths a file lists (wc --files0-from counted a file outside)', async () => {
    const ws = await port.create('a3', {});
    writeFileSync(join(ws.path, 'list'), join(outside, 'secret.txt'));
    await expect(port.run!('a3', ws.path, 'wc', ['--files0-from=list'], 5_000)).rejects.toThrow(/wc --files0-from opens the paths a file lists/);
    await expect(port.run!('a3', ws.path, 'wc', ['--files0-from', 'list'], 5_000)).rejects.toThrow(/--files0-from/);
    // getopt takes any unique prefix: these counted the outside file too (the next try).
    for (const args of [['--files0-fr=list'], ['--files0-f', 'list'], ['-c', '--files0-fro=list']]) await expect(port.run!('a3', ws.path, 'wc', args, 5_000), args.join(' ')).rejects.toThrow(/--files0-from opens the paths a file lists/);
    await expect(port.run!('a3', ws.path, 'tar', ['-cT', 'list', '-f', 'out.tar'], 5_000)).rejects.toThrow(/tar -T/);
    await expect(port.run!('a3', ws.path, 'tar', ['cTf', 'list', 'out.tar'], 5_000)).rejects.toThrow(/tar -T/);
  });

  it('still runs what stays inside: plain paths, links that lead inside, revision ranges', async () => {
    const ws = await port.create('a4', {});
    expect((await port.run!('a4', ws.path, 'cat', ['notes.txt', './deep/a/b/keep.txt'], 5_000)).stdout).toBe('inside\nx\n');
    // deep/a/b/up leads to deep/a: inside, so it may be named.
    expect((await port.run!('a4', ws.path, 'cat', ['deep/a/b/up/b/keep.txt'], 5_000)).stdout).toBe('x\n');
    expect((await port.run!('a4', ws.path, 'wc', ['-l', 'notes.txt'], 5_000)).stdout).toContain('1 notes.txt');
    expect((await port.run!('a4', ws.path, 'sort', ['-o', 'sorted.txt', 'notes.txt'], 5_000)).exitCode).toBe(0);
    expect(existsSync(join(ws.path, 'sorted.txt'))).toBe(true);
  });
});
