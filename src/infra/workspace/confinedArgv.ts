import { agentGitArgs } from './agentGitArgs.js';

/**
 * The argument list an allow-listed program runs with for an agent: git's with its safety
 * overrides (agentGitArgs.ts); sed in its sandbox, where the `e`, `r` and `w` commands that run a
 * program or open a file the script names are refused (`sed -f s.sed` with `1e sh x` ran a
 * shell in an attacker's try; `--sandbox` is GNU sed 4.3+); diff without following the links it
 * meets (`diff d e` printed a file outside through a link `git apply` made in `d`).
 *
 * @example
 * confinedArgv('sed', ['-n', 'p', 'notes.txt']); // ['--sandbox', '-n', 'p', 'notes.txt']
 */
export function confinedArgv(command: string, args: readonly string[]): string[] {
  if (command === 'git') return agentGitArgs(args);
  if (command === 'sed') return ['--sandbox', ...args];
  if (command === 'diff') return ['--no-dereference', ...args];
  return [...args];
}
