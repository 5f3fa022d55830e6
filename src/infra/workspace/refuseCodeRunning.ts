import { WorkspaceError } from '../../errors.js';
import { isOptionCluster } from './isOptionCluster.js';

/**
 * Options by which a program a user may allow-list runs another program, which then runs as the
 * user with cadre's environment (an attacker's try ran `sh` through each and read the API key
 * from /proc): `sort --compress-program=sh`, tar's `--to-command`, `-I`, `--checkpoint-action`,
 * `find -exec`. Long options match any prefix, as getopt expands one (`--compress-prog=sh`);
 * find's are whole words. Not complete, and it cannot be: SECURITY.md says which programs to
 * leave off the list. sed and diff are confined by what they are given instead (confinedArgv.ts).
 */
const RULES: Readonly<Record<string, { readonly long?: readonly string[]; readonly short?: string; readonly words?: readonly string[] }>> = {
  sort: { long: ['--compress-program'] },
  tar: {
    long: ['--to-command', '--use-compress-program', '--checkpoint-action', '--info-script', '--new-volume-script', '--rsh-command', '--rmt-command'],
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
  const rule = RULES[program];
  if (!rule) return;
  for (const [i, arg] of args.entries()) {
    if (arg === '--' && program !== 'find') return;
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0]! : null;
    const long = name ? rule.long?.find((o) => name !== '' && o.slice(2).startsWith(name)) : undefined;
    const word = rule.words?.find((w) => arg === w);
    const short = rule.short && isOptionCluster(program, arg, i) ? [...rule.short].find((c) => arg.replace(/^-/, '').includes(c)) : undefined;
    const option = long ?? word ?? (short ? `-${short}` : undefined);
    if (option) throw new WorkspaceError(`argument ${i} ${JSON.stringify(arg.slice(0, 40))}: ${program} ${option} runs another program; refused`);
  }
}
