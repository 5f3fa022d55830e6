import { WorkspaceError } from '../../errors.js';
import { isOptionCluster } from './isOptionCluster.js';

/**
 * Options by which a program reads the paths it opens from a file rather than from its
 * arguments: the argument check (confineArgs) sees the list file's name, never the names inside
 * it. `wc --files0-from=l` with `l` holding `/tmp/secret.txt` counted a file outside the worktree
 * (a hostile-model try; wc is on the default allow-list). Long options are matched for any
 * program (`--files0-from` is wc's, du's and sort's; `--files-from` tar's and rsync's), short ones
 * per program.
 */
const LONG = ['--files0-from', '--files-from', '--exclude-from', '--include-from'];
const SHORT: Readonly<Record<string, string>> = { tar: 'T', rsync: 'X' };

/**
 * Refuses `args` that would make `program` open paths listed in a file.
 *
 * @example
 * refusePathLists('wc', ['-l', 'notes.txt']);         // fine
 * refusePathLists('wc', ['--files0-from=list']);      // throws WorkspaceError naming the option
 */
export function refusePathLists(program: string, args: readonly string[]): void {
  const short = SHORT[program];
  for (const [i, arg] of args.entries()) {
    if (arg === '--') return;
    const option = LONG.find((o) => arg === o || arg.startsWith(`${o}=`)) ?? (short !== undefined && isOptionCluster(program, arg, i) && arg.replace(/^-/, '').includes(short) ? `-${short}` : undefined);
    if (option) throw new WorkspaceError(`argument ${i} ${JSON.stringify(arg.slice(0, 40))}: ${program} ${option} opens the paths a file lists, which no check sees; refused`);
  }
}
