import { mkdir, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PathOutsideWorkspace, WorkspaceError } from '../../errors.js';

/**
 * Makes the folders from `rootReal` down to `dirReal` (a resolved path inside it) one at a time,
 * each checked to be itself, not a link, before the next is made in it: one made by path at once
 * (`mkdir -p`) went wherever a folder on the way had meanwhile come to point.
 */
export async function makeFolders(rootReal: string, dirReal: string, requested: string): Promise<void> {
  let at = rootReal;
  for (const part of relative(rootReal, dirReal).split(sep).filter((p) => p !== '')) {
    at = join(at, part);
    await mkdir(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw new WorkspaceError(`cannot make the folder for ${JSON.stringify(requested)}: ${e.message}`, { cause: e });
    });
    if ((await realpath(at).catch(() => null)) !== at) throw new PathOutsideWorkspace(requested, rootReal);
  }
}
