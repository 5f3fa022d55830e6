import { isOptionCluster } from './isOptionCluster.js';

/** Options of one program to look for in an agent's arguments. */
export interface OptionRule {
  /** `--name`, alone or with `=value`; with `prefixes`, also any abbreviation getopt would expand. */
  readonly long?: readonly string[];
  readonly prefixes?: boolean;
  /** Letters, alone or in a cluster of short options (`-lL`, tar's `cTf`). */
  readonly short?: string;
  /** Whole arguments, as find takes its options (`-exec`). */
  readonly words?: readonly string[];
}

/**
 * The first of `args` that is an option `rule` names, and how it is named, or null. After `--`
 * nothing is an option, except for find, whose expression follows its paths (`find -- . -exec`).
 *
 * @example
 * findOption('ls', ['-la', '-RL'], { short: 'L' }); // { index: 1, arg: '-RL', option: '-L' }
 */
export function findOption(program: string, args: readonly string[], rule: OptionRule | undefined): { index: number; arg: string; option: string } | null {
  if (!rule) return null;
  for (const [index, arg] of args.entries()) {
    if (arg === '--' && program !== 'find') return null;
    const name = arg.startsWith('--') ? arg.slice(2).split('=')[0]! : null;
    const long = name ? rule.long?.find((o) => o.slice(2) === name || (rule.prefixes === true && name !== '' && o.slice(2).startsWith(name))) : undefined;
    const word = rule.words?.find((w) => arg === w);
    const letter = rule.short && isOptionCluster(program, arg, index) ? [...rule.short].find((c) => arg.replace(/^-/, '').includes(c)) : undefined;
    const option = long ?? word ?? (letter ? `-${letter}` : undefined);
    if (option) return { index, arg, option };
  }
  return null;
}
