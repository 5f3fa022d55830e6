import { WorkspaceError } from '../../errors.js';
import { findOption } from './findOption.js';

/**
 * Options by which a program reads the paths it opens from a file rather than from its
 * arguments: the argument check (confineArgs) sees the list file's name, never the names inside
 * it. `wc --files0-from=l` with `l` holding `/tmp/secret.txt` counted a file outside the worktree
 * (a hostile-model try; wc is on the default allow-list). The long options are matched for any
 * program (`--files0-from` is wc's, du's and sort's; `--files-from` tar's and rsync's), `-T` for tar.
 * So is any abbreviation of them: getopt takes a unique prefix, and `wc --files0-fr=l` counted
 * the outside file just the same (the next hostile-model try).
 */
const LONG = ['--files0-from', '--files-from'];

/**
 * Refuses `args` that would make `program` open paths listed in a file.
 *
 * @example
 * refusePathLists('wc', ['-l', 'notes.txt']);         // fine
 * refusePathLists('wc', ['--files0-from=list']);      // throws WorkspaceError naming the option
 */
export function refusePathLists(program: string, args: readonly string[]): void {
  const hit = findOption(program, args, { long: LONG, prefixes: true, ...(program === 'tar' ? { short: 'T' } : {}) });
  if (hit) throw new WorkspaceError(`argument ${hit.index} ${JSON.stringify(hit.arg.slice(0, 40))}: ${program} ${hit.option} opens the paths a file lists, which no check sees; refused`);
}
