import { WorkspaceError } from '../../errors.js';
import { findOption, type OptionRule } from './findOption.js';

/**
 * Options by which a program follows symbolic links it finds while walking, not only those it
 * is given: `ls -RL` listed a committed link's folder outside the worktree (`./outlink:
 * secret.txt`) and `ls -lL` showed its file's size and owner, although the link itself, named,
 * is refused (a hostile-model try). A named path is checked where it resolves (confineArgs); a
 * link met on the way is not, so these are refused. `-H` style options, which follow only links
 * named on the command line, are left: those names are checked.
 */
const FOLLOWING: Readonly<Record<string, OptionRule>> = {
  ls: { short: 'L', long: ['--dereference'] },
  du: { short: 'L', long: ['--dereference'] },
  grep: { short: 'R', long: ['--dereference-recursive'] },
  find: { words: ['-L', '-follow'] },
  tree: { short: 'l' },
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
  const hit = findOption(program, args, FOLLOWING[program]);
  if (hit) throw new WorkspaceError(`argument ${hit.index} ${JSON.stringify(hit.arg.slice(0, 40))}: ${program} ${hit.option} follows symbolic links out of the worktree; refused`);
}
