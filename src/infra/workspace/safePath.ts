import { lstat, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { InvalidInput, NotFound, PathOutsideWorkspace, WorkspaceError } from '../../errors.js';

/** A path inside a workspace after every check: its real location and its workspace-relative form. */
export interface SafePath {
  readonly real: string;
  /** Relative to the root, `/`-separated; '' for the root itself. */
  readonly rel: string;
}

/** True when `p` is `root` or lies under it (both absolute). A name that only starts with two dots (`..notes`) is inside. */
export const within = (root: string, p: string): boolean => {
  const rel = relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
};

/**
 * A path segment git treats as its own directory, so it will not add it (`git add` fails with
 * "invalid path" for each, as git 2.39 does here with core.protectNTFS on by default): `.git`
 * in any case, with trailing dots or spaces (`.git.`, `.GIT ..`), its 8.3 short name `git~1`,
 * and an NTFS stream of either (`.git:x`). A file an agent wrote under such a name made its
 * ending's commit fail, so its work never reached its branch.
 */
const GIT_SEGMENT = /^(?:\.git|git~1)(?:[. ]*|:.*)$/i;

/**
 * Whether one file name is git's own (above): never read, written or listed by the file tools.
 * Git (core.protectNTFS) also splits a name at `\`: a file an agent wrote as `.git\hooks\x`, one
 * name on Linux, made its ending's `git add` fail, and the agent's whole work was lost with its
 * worktree (a hostile-model try).
 */
export const isGitName = (name: string): boolean => name.split('\\').some((part) => GIT_SEGMENT.test(part));
const touchesGit = (rel: string): boolean => rel.split(sep).some(isGitName);

/**
 * Checks a requested path against the workspace without touching the disk: a string, no
 * control character, inside the root once `..` is resolved, not in `.git` (git's own files are not
 * the agent's to read or change). Returns the absolute lexical path.
 *
 * @example
 * lexicalPath('/ws', 'src/a.ts'); // '/ws/src/a.ts'
 * lexicalPath('/ws', '../x');     // throws PathOutsideWorkspace
 */
export function lexicalPath(rootReal: string, requested: unknown): string {
  if (typeof requested !== 'string') throw new InvalidInput('path', `expected a string, got ${typeof requested}`);
  // Control characters (NUL above all) and U+FFFD, which a model's NUL is stored as, name no file an agent should touch.
  if (/[\p{Cc}\uFFFD]/u.test(requested)) throw new InvalidInput('path', `${JSON.stringify(requested)} contains a control character or U+FFFD`);
  const abs = resolve(rootReal, requested);
  if (!within(rootReal, abs)) throw new PathOutsideWorkspace(requested, rootReal);
  if (touchesGit(relative(rootReal, abs))) throw new PathOutsideWorkspace(requested, rootReal, true);
  return abs;
}

/** `real` (a resolved path) as a SafePath, or PathOutsideWorkspace naming `requested` if it is outside the root or in `.git`. */
export function checked(rootReal: string, requested: string, real: string): SafePath {
  if (!within(rootReal, real)) throw new PathOutsideWorkspace(requested, rootReal);
  const rel = relative(rootReal, real);
  if (touchesGit(rel)) throw new PathOutsideWorkspace(requested, rootReal, true);
  return { real, rel: rel.split(sep).join('/') };
}

/**
 * Resolves an existing path, following symlinks, and refuses it unless the real location
 * is inside the workspace.
 *
 * @example
 * await resolveExisting('/ws', 'link-to-etc/passwd'); // throws PathOutsideWorkspace
 */
export async function resolveExisting(rootReal: string, requested: string): Promise<SafePath> {
  const abs = lexicalPath(rootReal, requested);
  let real: string;
  try {
    real = await realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // A dangling symlink whose target would be outside is still an escape attempt; and a
      // link to an outside file told, by its ENOTDIR, that the file is there (`o -> /etc/passwd`,
      // then `o/x`), where a missing one said "outside the workspace".
      await assertNoEscapingLink(rootReal, requested, abs);
      throw new NotFound('file', requested);
    }
    throw new WorkspaceError(`cannot resolve ${JSON.stringify(requested)}: ${(e as Error).message}`, { cause: e });
  }
  return checked(rootReal, requested, real);
}

/**
 * Resolves where a write to `requested` lands: an existing file (or a symlink to one) by its
 * real path; a new one by the real path of its nearest existing ancestor plus the missing
 * parts. Anything landing outside the workspace is refused.
 *
 * @example
 * await resolveForWrite('/ws', 'new/dir/file.txt'); // { real: '/ws/new/dir/file.txt', rel: 'new/dir/file.txt' }
 */
export async function resolveForWrite(rootReal: string, requested: string): Promise<SafePath> {
  const abs = lexicalPath(rootReal, requested);
  let existing = abs;
  const missing: string[] = [];
  for (;;) {
    try {
      await lstat(existing);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') await assertNoEscapingLink(rootReal, requested, abs); // as in resolveExisting: no hint that an outside file exists
      if (code !== 'ENOENT') throw new WorkspaceError(`cannot inspect ${JSON.stringify(requested)}: ${(e as Error).message}`, { cause: e });
      missing.unshift(basename(existing));
      existing = dirname(existing);
    }
  }
  let real: string;
  try {
    real = await realpath(existing);
  } catch (e) {
    // The nearest thing that exists is a dangling symlink: we cannot prove where it points.
    await assertNoEscapingLink(rootReal, requested, existing);
    throw new WorkspaceError(`cannot write ${JSON.stringify(requested)}: ${existing} is a dangling symlink`, { cause: e });
  }
  return checked(rootReal, requested, resolve(real, ...missing));
}

async function assertNoEscapingLink(rootReal: string, requested: string, abs: string): Promise<void> {
  // Walk up: any component that is a symlink pointing outside makes the request an escape.
  for (let p = abs; within(rootReal, p) && p !== rootReal; p = dirname(p)) {
    try {
      const st = await lstat(p);
      if (st.isSymbolicLink()) {
        const target = resolve(dirname(p), await readlink(p));
        if (!within(rootReal, target)) throw new PathOutsideWorkspace(requested, rootReal);
      }
    } catch (e) {
      if (e instanceof PathOutsideWorkspace) throw e;
    }
  }
}
