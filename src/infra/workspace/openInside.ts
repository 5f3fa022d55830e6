import { open, readlink, type FileHandle } from 'node:fs/promises';
import { WorkspaceError } from '../../errors.js';
import { checked, type SafePath } from './safePath.js';

/**
 * Opens a path checked by safePath.ts and refuses the file unless it is really inside `rootReal`
 * (outside `.git`), asking the kernel where the open handle points (`/proc/self/fd`, Linux).
 *
 * Why after the open too: the check resolves the path, and the open walks it again by name;
 * `O_NOFOLLOW` guards only its last component. A folder on the way that became a link in
 * between sends the open elsewhere. A hostile model did that with `git apply` (a patch turning
 * `e/` into a link to the repository's `.git`) while 90 `write_file`s of `e/config` from the
 * same reply ran beside it: one wrote the repository's config, whose fsmonitor ran a command at
 * the user's next `git status`. The tools now wait for commands (workspacePort.ts); this catches
 * any other change under a checked path. A write is opened without `O_TRUNC` and truncated only
 * once checked, so a file reached outside is closed untouched (one it had to create stays,
 * empty). Where `/proc/self/fd` is missing the handle is taken as checked before.
 *
 * @example
 * const handle = await openInside(root, await resolveExisting(root, 'src/a.ts'), constants.O_RDONLY | constants.O_NOFOLLOW, 'src/a.ts');
 */
export async function openInside(rootReal: string, target: SafePath, flags: number, requested: string): Promise<FileHandle> {
  const handle = await openOrExplain(target.real, flags, requested);
  let real: string | null;
  try {
    real = await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    real = null;
  }
  try {
    if (real !== null) checked(rootReal, requested, real);
  } catch (e) {
    await handle.close();
    throw e;
  }
  return handle;
}

async function openOrExplain(path: string, flags: number, requested: string): Promise<FileHandle> {
  try {
    return await open(path, flags, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new WorkspaceError(`${JSON.stringify(requested)} became a symlink while being opened; refused`, { cause: e });
    if (code === 'EISDIR') throw new WorkspaceError(`${JSON.stringify(requested)} is a directory`, { cause: e });
    throw new WorkspaceError(`cannot open ${JSON.stringify(requested)}: ${(e as Error).message}`, { cause: e });
  }
}
