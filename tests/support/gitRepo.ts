import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface TempRepo {
  /** A temporary folder holding the repository (and, by default, its worktrees). */
  readonly dir: string;
  /** The repository's work tree, on branch `main` with one commit. */
  readonly path: string;
  /** A folder for worktrees inside `dir`, outside the work tree. */
  readonly basePath: string;
  /** Runs git in the repository (or in `cwd`) and returns trimmed stdout; throws on failure. */
  git(args: readonly string[], cwd?: string): string;
  cleanup(): void;
}

/** Our environment minus GIT_* (a test run from a git hook must not leak GIT_DIR into these repos). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GIT_')) env[k] = v;
  return { ...env, LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };
}

/**
 * A fresh git repository in a temp folder: branch `main`, one commit with `files`
 * (default a README.md), a local identity. Call `cleanup()` when done.
 *
 * @example
 * const repo = createTempRepo({ files: { 'README.md': 'hello\n' } });
 * try { ... } finally { repo.cleanup(); }
 */
export function createTempRepo(options: { files?: Record<string, string>; prefix?: string } = {}): TempRepo {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), options.prefix ?? 'cadre-git-')));
  const path = join(dir, 'repo');
  mkdirSync(path);
  const env = cleanEnv();
  const git = (args: readonly string[], cwd = path): string =>
    execFileSync('git', [...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  git(['init', '--quiet', '--initial-branch=main']);
  git(['config', 'user.name', 'test']);
  git(['config', 'user.email', 'test@cadre.local']);
  git(['config', 'commit.gpgSign', 'false']);
  const files = options.files ?? { 'README.md': '# test repository\n' };
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(path, name)), { recursive: true });
    writeFileSync(join(path, name), content);
  }
  git(['add', '--all']);
  git(['commit', '--quiet', '-m', 'initial commit']);
  return {
    dir,
    path,
    basePath: join(dir, 'worktrees'),
    git,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A temp repository whose one extra commit holds `escape`, a symlink to a folder outside it
 * (`outside`): what a hostile repository or model would use to leave a worktree. `cleanup()`
 * removes both.
 */
export function createRepoWithEscape(prefix: string): TempRepo & { readonly outside: string } {
  const outside = mkdtempSync(join(tmpdir(), `${prefix}outside-`));
  const repo = createTempRepo({ prefix });
  symlinkSync(outside, join(repo.path, 'escape'));
  repo.git(['add', 'escape']);
  repo.git(['commit', '-q', '-m', 'a symlink that points outside']);
  return {
    ...repo,
    outside,
    cleanup: () => {
      repo.cleanup();
      rmSync(outside, { recursive: true, force: true });
    },
  };
}
