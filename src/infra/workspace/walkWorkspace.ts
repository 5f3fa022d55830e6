import { readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkspaceError } from '../../errors.js';
import { isGitName, type SafePath } from './safePath.js';
import type { FileEntry } from './workspaceFiles.js';

/** Walks a folder depth-first in name order without following symlinks or entering `.git`; a folder found turned into a link meanwhile is refused. */
export async function walkWorkspace(start: SafePath, recursive: boolean, visit: (entry: FileEntry) => boolean): Promise<boolean> {
  let dirents;
  try {
    dirents = await readdir(start.real, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') throw new WorkspaceError(`${JSON.stringify(start.rel)} is not a directory`);
    throw e;
  }
  // Read by name: a folder on the way that became a link meanwhile was listed where the link
  // points. Another process's merge into this worktree did that under a list_files (the
  // worktree hold is this process's own), and the listing named files outside (a hostile-model
  // try with two workers). The folder must still be itself once read.
  if ((await realpath(start.real).catch(() => null)) !== start.real) throw new WorkspaceError(`${JSON.stringify(start.rel || '.')} changed into a link while being listed; refused`);
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of dirents) {
    if (isGitName(d.name)) continue;
    const rel = start.rel === '' ? d.name : `${start.rel}/${d.name}`;
    const type: FileEntry['type'] = d.isSymbolicLink() ? 'symlink' : d.isDirectory() ? 'directory' : d.isFile() ? 'file' : 'other';
    if (!visit({ path: rel, type })) return false;
    if (recursive && type === 'directory' && !(await walkWorkspace({ real: join(start.real, d.name), rel }, true, visit))) return false;
  }
  return true;
}
