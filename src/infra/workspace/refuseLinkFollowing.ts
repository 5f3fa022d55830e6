import { WorkspaceError } from '../../errors.js';
import { isOptionCluster } from './isOptionCluster.js';

/**
 * Options by which a program follows symbolic links it finds while walking, not only those it
 * is given: `ls -RL` listed a committed link's folder outside the worktree (`./outlink:
 * secret.txt`) and `ls -lL` showed its file's size and owner, although the link itself, named,
 * is refused (a hostile-model try). A named path is checked where it resolves (confineArgs); a
 * link met on the way is not, so these are refused. `-H` style options, which follow only links
 * named on the command line, are left: those names are checked.
 */
const FOLLOWING: Readonly<Record<string, { readonly short?: string; readonly long: readonly string[] }>> = {
  ls: { short: 'L', long: ['--dereference'] },
  du: { short: 'L', long: ['--dereference'] },
  grep: { short: 'R', long: ['--dereference-recursive'] },
  // find's options are words, not clusters of letters.
  find: { long: ['-L', '-follow'] },
  tree: { short: 'l', long: [] },
  tar: { short: 'h', long: ['--dereference'] },
  cp: { short: 'L', long: ['--dereference'] },
};

/**
 * Refuses `args` that would make `program` follow links it meets while walking the worktree.
 *
 * @example
 * refuseLinkFollowing('ls', ['-la']);  // fine
 * refuseLinkFollowing('ls', ['-RL']);  // throws WorkspaceError naming -L
 */
export function refuseLinkFollowing(program: string, args: readonly string[]): void {
  const rule = FOLLOWING[program];
  if (!rule) return;
  for (const [i, arg] of args.entries()) {
    if (arg === '--') return;
    const long = rule.long.find((o) => arg === o || arg.startsWith(`${o}=`));
    const short = rule.short !== undefined && isOptionCluster(program, arg, i) && arg.replace(/^-/, '').includes(rule.short) ? `-${rule.short}` : undefined;
    const option = long ?? short;
    if (option) throw new WorkspaceError(`argument ${i} ${JSON.stringify(arg.slice(0, 40))}: ${program} ${option} follows symbolic links out of the worktree; refused`);
  }
}
