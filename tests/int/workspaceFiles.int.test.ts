import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { createWorkspaceFiles, type WorkspaceFiles } from '../../src/infra/workspace/workspaceFiles.js';
import { makeFolders } from '../../src/infra/workspace/makeFolders.js';
import { openInside } from '../../src/infra/workspace/openInside.js';
import { walkWorkspace } from '../../src/infra/workspace/walkWorkspace.js';
import { resolveExisting, resolveForWrite } from '../../src/infra/workspace/safePath.js';
import { InvalidInput, NotFound, PathOutsideWorkspace } from '../../src/errors.js';

describe('workspace files stay inside the worktree', () => {
  let dir: string;
  let root: string;
  let outside: string;
  let files: WorkspaceFiles;

  beforeAll(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'cadre-files-')));
    root = join(dir, 'ws');
    outside = join(dir, 'outside');
    mkdirSync(join(root, 'src'), { recursive: true });
    mkdirSync(join(root, '.git'));
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'secret\n');
    writeFileSync(join(root, 'src', 'a.ts'), 'export const a = 1;\n// TODO: more\n');
    writeFileSync(join(root, 'src', 'b.md'), 'TODO in markdown\n');
    writeFileSync(join(root, '.git', 'config'), '[core]\n');
    symlinkSync(join(outside, 'secret.txt'), join(root, 'secret-link'));
    symlinkSync(outside, join(root, 'outside-dir'));
    symlinkSync(join(outside, 'not-yet.txt'), join(root, 'dangling'));
    symlinkSync(join(root, 'src', 'a.ts'), join(root, 'inner-link'));
    files = createWorkspaceFiles(root);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads, writes (creating folders), lists and searches inside', async () => {
    expect((await files.read('src/a.ts')).content).toContain('export const a');
    expect(await files.read('src/a.ts', { maxBytes: 6 })).toMatchObject({ content: 'export', truncated: true });
    expect(await files.write('deep/new/file.txt', 'hello')).toEqual({ path: 'deep/new/file.txt', bytes: 5 });
    expect(readFileSync(join(root, 'deep/new/file.txt'), 'utf8')).toBe('hello');
    expect((await files.read('./src/../deep/new/file.txt')).content).toBe('hello');
    expect((await files.read('inner-link')).path).toBe('src/a.ts');
    await files.write('inner-link', 'export const a = 2;\n');
    expect(readFileSync(join(root, 'src/a.ts'), 'utf8')).toBe('export const a = 2;\n');

    const top = await files.list();
    expect(top.entries.map((e) => e.path)).not.toContain('.git');
    expect(top.entries.find((e) => e.path === 'outside-dir')?.type).toBe('symlink');
    const all = await files.list('.', { recursive: true });
    expect(all.entries.map((e) => e.path)).toContain('deep/new/file.txt');
    expect(all.entries.some((e) => e.path.startsWith('outside-dir/'))).toBe(false);
    expect((await files.list('.', { recursive: true, limit: 2 })).truncated).toBe(true);

    const todo = await files.search('TODO');
    expect(todo.matches.map((m) => `${m.path}:${m.line}`).sort()).toEqual(['src/b.md:1']);
    expect((await files.search('T.DO', { regex: true, glob: '*.md' })).matches).toEqual([{ path: 'src/b.md', line: 1, column: 1, text: 'TODO in markdown' }]);
    expect((await files.search('T.DO')).matches).toEqual([]);
    expect((await files.search('secret')).matches).toEqual([]);
    await expect(files.search('(', { regex: true })).rejects.toBeInstanceOf(InvalidInput);
    await expect(files.read('missing.txt')).rejects.toBeInstanceOf(NotFound);
  });

  const escapes: Array<[string, string]> = [
    ['../x', 'parent traversal'],
    ['/etc/passwd', 'absolute path outside'],
    ['a/../../b', 'traversal through a missing folder'],
    ['src/../../outside/secret.txt', 'traversal to a sibling'],
    ['secret-link', 'symlink to a file outside'],
    ['outside-dir/secret.txt', 'symlinked folder pointing outside'],
    ['outside-dir/new.txt', 'new file in a symlinked folder pointing outside'],
    ['dangling', 'dangling symlink pointing outside'],
    ['.git/config', 'git metadata'],
    ['src/../.git/hooks/pre-commit', 'git metadata through ..'],
    // Names git takes for its own directory (core.protectNTFS): it will not add them.
    ['.git.', '.git with a trailing dot'],
    ['sub/.GIT ..', '.git with trailing spaces and dots, in any case'],
    ['git~1/config', "the 8.3 short name of .git"],
    ['.git:stream', 'an NTFS stream of .git'],
  ];

  it.each(escapes)('refuses %s (%s) for read and write, naming the path', async (path) => {
    for (const attempt of [() => files.read(path), () => files.write(path, 'pwned')]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PathOutsideWorkspace);
      expect((error as Error).message).toContain(JSON.stringify(path));
    }
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('secret\n');
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(join(outside, 'not-yet.txt'))).toBe(false);
    expect(readFileSync(join(root, '.git', 'config'), 'utf8')).toBe('[core]\n');
  });

  it('refuses NUL bytes, control characters, U+FFFD and listing outside', async () => {
    for (const attempt of [() => files.read('a\0b'), () => files.write('src/a.ts\0.png', 'x'), () => files.write('new\nline', 'x'), () => files.read('ok\uFFFD../x')]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInput);
      expect((error as Error).message).toContain('control character');
    }
    await expect(files.list('outside-dir')).rejects.toBeInstanceOf(PathOutsideWorkspace);
    await expect(files.list('..')).rejects.toBeInstanceOf(PathOutsideWorkspace);
    await expect(files.list('.git')).rejects.toBeInstanceOf(PathOutsideWorkspace);
    await expect(files.read('sub/.git/config')).rejects.toThrow(/path "sub\/\.git\/config" is in \.git, which tools may not read or write/);
    // A link to a file outside: the same refusal as for one to a folder or to nothing, not an
    // ENOTDIR telling that the file exists.
    await expect(files.read('secret-link/x')).rejects.toBeInstanceOf(PathOutsideWorkspace);
    await expect(files.write('secret-link/x', 'y')).rejects.toBeInstanceOf(PathOutsideWorkspace);
    await expect(files.read('src/a.ts/x')).rejects.toBeInstanceOf(NotFound);
  });

  // A hostile-model try: `git apply` in the same reply turned a checked folder into a link to the
  // repository's .git while write_file calls ran, and one wrote its config. Here the folder
  // becomes a link between the check and the open, as it did there by chance.
  it('refuses a file whose folder became a link out of the worktree after its path was checked, and leaves it untouched', async () => {
    mkdirSync(join(root, 'swap'));
    writeFileSync(join(root, 'swap', 'config'), 'inside\n');
    const forRead = await resolveExisting(root, 'swap/config');
    const forWrite = await resolveForWrite(root, 'swap/config');
    const gitTarget = join(root, '.git');
    for (const [linkTo, file] of [[outside, 'secret.txt'], [gitTarget, 'config']] as const) {
      rmSync(join(root, 'swap'), { recursive: true });
      symlinkSync(linkTo, join(root, 'swap'));
      const before = readFileSync(join(linkTo, file), 'utf8');
      const asChecked = (t: { real: string; rel: string }) => ({ real: join(dirname(t.real), file), rel: `swap/${file}` });
      await expect(openInside(root, asChecked(forRead), constants.O_RDONLY | constants.O_NOFOLLOW, 'swap/x')).rejects.toBeInstanceOf(PathOutsideWorkspace);
      await expect(openInside(root, asChecked(forWrite), constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW, 'swap/x')).rejects.toBeInstanceOf(PathOutsideWorkspace);
      expect(readFileSync(join(linkTo, file), 'utf8')).toBe(before);
      rmSync(join(root, 'swap'));
      mkdirSync(join(root, 'swap'));
    }
    // Another process's merge can make the link while a listing walks (two workers: the hold is
    // per process): the folder's names must not be listed from where it now points.
    mkdirSync(join(root, 'swap', 'sub'), { recursive: true });
    const listed: string[] = [];
    const walking = walkWorkspace({ real: join(root, 'swap'), rel: 'swap' }, true, (e) => {
      listed.push(e.path);
      if (e.path === 'swap/sub') {
        rmSync(join(root, 'swap', 'sub'), { recursive: true });
        symlinkSync(outside, join(root, 'swap', 'sub'));
      }
      return true;
    });
    await expect(walking).rejects.toThrow(/"swap\/sub" changed into a link while being listed/);
    expect(listed).toEqual(['swap/sub']);
    rmSync(join(root, 'swap', 'sub'));
    // And a write's folders, checked before one on the way became a link, are not made through it.
    symlinkSync(outside, join(root, 'swap', 'sub'));
    await expect(makeFolders(root, join(root, 'swap', 'sub', 'deeper', 'deepest'), 'swap/sub/deeper/deepest/f')).rejects.toBeInstanceOf(PathOutsideWorkspace);
    expect(existsSync(join(outside, 'deeper'))).toBe(false);
    rmSync(join(root, 'swap', 'sub'));
    // Inside, the same call opens the file.
    writeFileSync(join(root, 'swap', 'config'), 'inside\n');
    const handle = await openInside(root, forRead, constants.O_RDONLY | constants.O_NOFOLLOW, 'swap/config');
    expect((await handle.readFile()).toString()).toBe('inside\n');
    await handle.close();
    rmSync(join(root, 'swap'), { recursive: true });
  });

  it('writes every name git will add, and refuses exactly those git refuses as its own (the ending commits all an agent wrote)', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    execFileSync('git', ['init', '-q'], { cwd: repo });
    const inRepo = createWorkspaceFiles(repo);
    const names = ['.git.', '.git ', '.GIT..', '.git. .', 'git~1', 'GIT~1', '.git:x', 'git~1:y', 'sub/.git.', // git refuses
      '.git\\hooks\\x', 'sub\\.GIT.\\y', 'a\\git~1', // ... and split at \ too (a hostile-model try)
      '.gitignore', '.github/ci.yml', '.gitx', 'git~2', 'x.git', 'a.git.b', 'x:y', '..git', 'git~1x', 'a\\b.txt', 'x\\.gitx']; // git adds
    const refused: string[] = [];
    for (const name of names) {
      const written = await inRepo.write(name, 'x').then(() => true, (e: unknown) => {
        expect(e, name).toBeInstanceOf(PathOutsideWorkspace);
        return false;
      });
      // git's own answer for the name, on the file the tool wrote or one made here.
      if (!written) {
        mkdirSync(dirname(join(repo, name)), { recursive: true });
        writeFileSync(join(repo, name), 'x');
      }
      let added = true;
      try {
        execFileSync('git', ['add', '--', name], { cwd: repo, stdio: 'pipe' });
      } catch {
        added = false;
      }
      expect(written, `${name}: ${added ? 'git adds it' : 'git refuses it'}`).toBe(added);
      if (!written) refused.push(name);
    }
    // Nor does a listing show them (made here, as a run_command could): they are git's, not the agent's.
    const listed = new Set((await inRepo.list('', { recursive: true })).entries.map((e) => e.path));
    expect(refused.length).toBeGreaterThan(5);
    for (const name of refused) expect(listed.has(name), name).toBe(false);
    expect(listed.has('.gitignore')).toBe(true);
  });
});
