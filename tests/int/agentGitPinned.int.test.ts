import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkspacePort } from '../../src/infra/workspace/workspacePort.js';
import { createTempRepo } from '../support/gitRepo.js';

/**
 * A hostile-model try with `git` allow-listed: `git log --format=gitdir%x3a%x20evil --output=.git`
 * rewrote the worktree's `.git` pointer (git's `%x` escapes hid the `:` from the argument check)
 * to a folder the model had written with write_file: borrowing the repository's objects, naming
 * the user's `main`, with a config whose diff textconv ran a shell command. `git show` then read
 * cadre's environment (the API key) and `git reset --soft HEAD~2` moved the user's branch.
 * Two answers: no argument may name `.git`, and an agent's git is given its repository by
 * GIT_DIR, found from the repository's side, so a rewritten pointer is never read.
 */
describe("an agent's git cannot be pointed at another repository", () => {
  const repo = createTempRepo({ prefix: 'cadre-gitpin-', files: { 'notes.txt': 'inside\n' } });
  repo.git(['commit', '--quiet', '--allow-empty', '-m', 'the user’s second commit']);
  afterAll(() => repo.cleanup());
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['git', 'sort', 'cat'] });
  afterAll(() => port.stop?.());

  it('refuses an argument naming .git, directly, glued to an option, or through a link', async () => {
    const ws = await port.create('g1', {});
    const pointer = readFileSync(join(ws.path, '.git'), 'utf8');
    const refused = [
      ['git', ['log', '-1', '--format=gitdir%x3a%x20evil', '--output=.git']],
      ['git', ['diff', '--output', './.git']],
      ['git', ['format-patch', '-o', '.git/x', 'HEAD~1']],
      ['sort', ['-o.git', 'notes.txt']],
      ['cat', ['.GIT']],
    ] as const;
    for (const [command, args] of refused) await expect(port.run!('g1', ws.path, command, args, 5_000), args.join(' ')).rejects.toThrow(/names the worktree's `\.git`/);
    symlinkSync('.git', join(ws.path, 'innocent'));
    await expect(port.run!('g1', ws.path, 'sort', ['-o', 'innocent', 'notes.txt'], 5_000)).rejects.toThrow(/`\.git`.*through a symbolic link/);
    expect(readFileSync(join(ws.path, '.git'), 'utf8')).toBe(pointer);
    // A name that only begins like it is a file like any other.
    writeFileSync(join(ws.path, '.gitignore'), 'x\n');
    expect((await port.run!('g1', ws.path, 'cat', ['.gitignore'], 5_000)).stdout).toBe('x\n');
  });

  it('runs on its own repository and branch even when the pointer was rewritten', async () => {
    const ws = await port.create('g2', {});
    const mainBefore = repo.git(['rev-parse', 'main']);
    // The model's folder: the repository's objects, the user's branch, a config that runs a program.
    const evil = join(ws.path, 'evil');
    mkdirSync(join(evil, 'refs', 'heads'), { recursive: true });
    mkdirSync(join(evil, 'objects', 'info'), { recursive: true });
    writeFileSync(join(evil, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(evil, 'refs', 'heads', 'main'), `${mainBefore}\n`);
    writeFileSync(join(evil, 'objects', 'info', 'alternates'), `${join(repo.path, '.git', 'objects')}\n`);
    const ran = join(ws.path, 'textconv-ran');
    writeFileSync(join(evil, 'config'), `[core]\n\trepositoryformatversion = 0\n\tbare = false\n[diff "x"]\n\ttextconv = touch ${ran}; cat\n`);
    writeFileSync(join(ws.path, '.gitattributes'), '* diff=x\n');
    // Written by the test, as any way past the argument check would.
    writeFileSync(join(ws.path, '.git'), `gitdir: ${evil}\n`);

    const gitDir = (await port.run!('g2', ws.path, 'git', ['rev-parse', '--absolute-git-dir'], 5_000)).stdout.trim();
    expect(gitDir).toMatch(/\/\.git\/worktrees\/g2$/);
    expect((await port.run!('g2', ws.path, 'git', ['rev-parse', '--abbrev-ref', 'HEAD'], 5_000)).stdout.trim()).toBe(ws.branch);
    expect((await port.run!('g2', ws.path, 'git', ['show', 'HEAD', '--', 'notes.txt'], 5_000)).exitCode).toBe(0);
    expect(existsSync(ran)).toBe(false);
    expect((await port.run!('g2', ws.path, 'git', ['reset', '--soft', 'HEAD~1'], 5_000)).exitCode).toBe(0);
    expect(repo.git(['rev-parse', 'main'])).toBe(mainBefore);
    expect(repo.git(['rev-parse', ws.branch])).not.toBe(mainBefore); // the agent's own branch moved

    // cadre's own commit at the agent's end goes to the agent's branch too (pinnedToWorktrees.ts).
    writeFileSync(join(ws.path, 'work.txt'), 'the work\n');
    const committed = await port.commit('g2', 'g2: done');
    expect(committed?.files).toContain('work.txt');
    expect(repo.git(['show', `${ws.branch}:work.txt`])).toBe('the work');
    expect(repo.git(['rev-parse', 'main'])).toBe(mainBefore);
    expect(existsSync(ran)).toBe(false);
  });

  it('refuses git in a folder that is no worktree of the repository', async () => {
    await expect(port.run!('g3', repo.path, 'git', ['status'], 5_000)).rejects.toThrow(/is not a worktree of .* that git knows of/);
  });
});

describe("an agent's git, the next try (2026-12-07)", () => {
  const repo = createTempRepo({ prefix: 'cadre-gitnext-', files: { 'notes.txt': 'inside\n' } });
  repo.git(['commit', '--quiet', '--allow-empty', '-m', 'the user’s second commit']);
  const outside = mkdtempSync(join(tmpdir(), 'cadre-gitnext-outside-'));
  afterAll(() => {
    repo.cleanup();
    rmSync(outside, { recursive: true, force: true });
  });
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['git'] });
  afterAll(() => port.stop?.());

  it('cherry-pick --strategy=<a script it wrote> runs nothing', async () => {
    const ws = await port.create('n1', {});
    mkdirSync(join(ws.path, 'git-merge-x'));
    writeFileSync(join(ws.path, 'git-merge-x', 'y'), `#!/bin/sh\ntouch ${join(outside, 'pwned')}\nexit 1\n`);
    chmodSync(join(ws.path, 'git-merge-x', 'y'), 0o755);
    for (const args of [['cherry-pick', '--strategy=x/y', 'HEAD~1'], ['cherry-pick', '--strategy', 'x/y', 'HEAD~1']]) {
      await expect(port.run!('n1', ws.path, 'git', args, 5_000), args.join(' ')).rejects.toThrow(/only a built-in merge strategy/);
    }
    expect(existsSync(join(outside, 'pwned'))).toBe(false);
  });

  it('a plain git diff works', async () => {
    const ws = await port.create('n2', {});
    writeFileSync(join(ws.path, 'notes.txt'), 'changed\n');
    const r = await port.run!('n2', ws.path, 'git', ['diff'], 5_000);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('+changed');
  });

  it("a link to outside that the agent committed itself is taken out by cadre's commit, so no merge carries it", async () => {
    const ws = await port.create('n3', {});
    writeFileSync(join(outside, 'secret.txt'), 'OUTSIDE');
    symlinkSync(join(outside, 'secret.txt'), join(ws.path, 's'));
    expect((await port.run!('n3', ws.path, 'git', ['add', '--all'], 5_000)).exitCode).toBe(0); // naming `s` is refused: it leads outside
    expect((await port.run!('n3', ws.path, 'git', ['commit', '-q', '-m', 'add link'], 5_000)).exitCode).toBe(0);
    expect(repo.git(['ls-tree', '--name-only', ws.branch])).toContain('s');
    writeFileSync(join(ws.path, 'work.txt'), 'the work\n');
    await port.commit('n3', 'n3: done');
    expect(repo.git(['ls-tree', '--name-only', ws.branch]).split('\n')).toEqual(['notes.txt', 'work.txt']);
    expect(repo.git(['log', '-1', '--format=%B', ws.branch])).toContain('Left out, symbolic links that lead outside the repository: "s"');
  });
});

describe("an agent's commands, the third try (2026-12-07)", () => {
  const repo = createTempRepo({ prefix: 'cadre-gitthird-', files: { 'notes.txt': 'inside\n' } });
  afterAll(() => repo.cleanup());
  const port = createWorkspacePort({ repo: repo.path, basePath: repo.basePath, allowedCommands: ['git', 'sleep'] });
  afterAll(() => port.stop?.());

  it("git reads no excludes file from a HOME the agent can write ($HOME/.config/git/ignore told it a file's lines)", async () => {
    const ws = await port.create('t1', {});
    mkdirSync(join(ws.path, '.config', 'git'), { recursive: true });
    writeFileSync(join(ws.path, '.config', 'git', 'ignore'), 'guess\n');
    writeFileSync(join(ws.path, 'guess'), '');
    const r = await port.run!('t1', ws.path, 'git', ['status', '--porcelain', '--ignored'], 5_000);
    expect(r.stdout).toContain('?? guess');
    expect(r.stdout).not.toContain('!! guess');
  });

  it("a child's merge into a worktree waits for the command running there (a link merged under a checked command read /etc)", async () => {
    const parent = await port.create('t2', {});
    const child = await port.create('t3', { baseBranch: parent.branch });
    writeFileSync(join(child.path, 'from-child.txt'), 'x\n');
    await port.commit('t3', 't3: done');
    const commandEnded = port.run!('t2', parent.path, 'sleep', ['1'], 5_000).then(() => Date.now());
    await new Promise((r) => setTimeout(r, 200));
    const merged = await port.merge('t3', 't2');
    const mergedAt = Date.now();
    expect(merged.status).toBe('merged');
    expect(mergedAt).toBeGreaterThanOrEqual(await commandEnded);
  });
});
