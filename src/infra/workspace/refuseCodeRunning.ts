import { WorkspaceError } from '../../errors.js';
import { findOption, type OptionRule } from './findOption.js';

/**
 * Options by which a program a user may allow-list runs another program, which then runs as the
 * user with cadre's environment (an attacker's try ran `sh` through each and read the API key
 * from /proc): `sort --compress-program=sh`, tar's `--to-command`, `-I`, `--checkpoint-action`,
 * `find -exec`. Long options match any prefix, as getopt expands one (`--compress-prog=sh`);
 * find's are whole words. Not complete, and it cannot be: SECURITY.md says which programs to
 * leave off the list. sed and diff are confined by what they are given instead (confinedArgv.ts).
 */
const RULES: Readonly<Record<string, OptionRule>> = {
  sort: { long: ['--compress-program'], prefixes: true },
  tar: {
    long: ['--to-command', '--use-compress-program', '--checkpoint-action', '--info-script', '--new-volume-script', '--rsh-command', '--rmt-command'],
    prefixes: true,
    short: 'IF',
  },
  find: { words: ['-exec', '-execdir', '-ok', '-okdir', '-fprint', '-fprint0', '-fprintf', '-fls'] },
};

/**
 * Refuses `args` that would make `program` run another program.
 *
 * @example
 * refuseCodeRunning('sort', ['-r', 'notes.txt']);             // fine
 * refuseCodeRunning('sort', ['--compress-program=sh', 'x']);  // throws WorkspaceError naming it
 */
export function refuseCodeRunning(program: string, args: readonly string[]): void {
  const hit = findOption(program, args, RULES[program]);
  if (hit) throw new WorkspaceError(`argument ${hit.index} ${JSON.stringify(hit.arg.slice(0, 40))}: ${program} ${hit.option} runs another program; refused`);
}
