import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PathOutsideWorkspace } from '../../src/errors.js';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * A hostile-model try with `git` allow-listed: one reply held `git apply p.patch` (the patch
 * turns folder `e/` into a link to the repository's `.git`) and 90 `write_file`s of `e/config`.
 * A reply's tools run at once, and the file tools waited for nothing, so a write checked before
 * the swap and opened after it wrote the repository's config: its fsmonitor then ran a command at
 * the user's next `git status`. A search the same way read /etc/passwd. The file tools now hold
 * the worktree as commands do.
 */
describe("the file tools wait for a command running in the agent's worktree", () => {
  const repo = createTempRepo({ prefix: 'cadre-fileshold-', files: { 'notes.txt': 'inside\n' } });
  afterAll(() => repo.cleanup());
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['git', 'sleep'] });
  afterAll(() => port.stop?.());

  it('read, write, list and search each start after the command has ended', async () => {
    const ws = await port.create('h1', {});
    const files = port.files('h1', ws.path);
    const commandEnded = port.run!('h1', ws.path, 'sleep', ['1'], 5_000).then(() => performance.now());
    await new Promise((r) => setTimeout(r, 200));
    const ends = await Promise.all([
      files.write('new.txt', 'x').then(() => performance.now()),
      files.read('notes.txt').then(() => performance.now()),
      files.list('.', {}).then(() => performance.now()),
      files.search('inside', {}).then(() => performance.now()),
    ]);
    const ended = await commandEnded;
    for (const at of ends) expect(at).toBeGreaterThanOrEqual(ended);
  });

  it('a folder that a command in the same reply turns into a link to .git takes no write through it', async () => {
    const ws = await port.create('h2', {});
    const gitDir = repo.git(['rev-parse', '--absolute-git-dir']);
    const configBefore = readFileSync(join(gitDir, 'config'), 'utf8');
    // The patch, made in a scratch repository: e/config/keep goes, e becomes a link to .git.
    const scratch = join(repo.dir, 'scratch');
    mkdirSync(join(scratch, 'e', 'config'), { recursive: true });
    repo.git(['init', '--quiet'], scratch);
    writeFileSync(join(scratch, 'e', 'config', 'keep'), 'k\n');
    repo.git(['add', '-A'], scratch);
    repo.git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-m', 'e'], scratch);
    repo.git(['rm', '-r', '--quiet', 'e'], scratch);
    symlinkSync(gitDir, join(scratch, 'e'));
    repo.git(['add', '-A'], scratch);
    const patch = `${repo.git(['diff', '--cached'], scratch)}\n`;

    const files = port.files('h2', ws.path);
    await files.write('e/config/keep', 'k\n');
    await files.write('p.patch', patch);
    const evil = '[core]\n\tfsmonitor = "echo ran > /tmp/cadre-fileshold-ran; false"\n';
    // As the model's reply asks: the command first, then the writes, all at once.
    const applied = port.run!('h2', ws.path, 'git', ['apply', 'p.patch'], 10_000);
    const writes = await Promise.allSettled(Array.from({ length: 40 }, () => files.write('e/config', evil)));
    expect((await applied).exitCode).toBe(0);
    expect(readFileSync(join(gitDir, 'config'), 'utf8')).toBe(configBefore);
    // Each write ran wholly before the swap (e/config was a folder then) or wholly after it (a
    // path through a link out of the worktree): none wrote anything.
    for (const w of writes) {
      expect(w.status).toBe('rejected');
      const reason = (w as PromiseRejectedResult).reason as Error;
      expect(reason instanceof PathOutsideWorkspace || /"e\/config" is a directory/.test(reason.message), reason.message).toBe(true);
    }
    await expect(files.write('e/config', evil)).rejects.toBeInstanceOf(PathOutsideWorkspace);
    expect(readFileSync(join(gitDir, 'config'), 'utf8')).toBe(configBefore);
  });
});
