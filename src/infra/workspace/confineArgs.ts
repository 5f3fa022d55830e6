import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkspaceError } from '../../errors.js';
import { within } from './safePath.js';

// Where a path can start inside one argument: after a separator a program might split on
// (`--out=/x`, `a:/x`, `x,/y`, `alias.x=!id > /x`) or, in a cluster of short options, after any
// option letter (`-o/tmp/x`, `-xo~/x`).
const SPLIT = /[\s=:,;|&<>!'"`(){}[\]]+/;

/** The parts of `arg` that could be read as a path by some program. */
function pathCandidates(arg: string): string[] {
  const parts = arg.split(SPLIT).filter((p) => p !== '');
  const out = new Set<string>(parts);
  for (const p of parts) {
    if (/^-[^-]/.test(p)) for (let k = 2; k <= p.length; k++) out.add(p.slice(k));
    else if (p.startsWith('--')) out.delete(p);
  }
  out.delete('');
  return [...out];
}

/**
 * Refuses command arguments that could name a place outside the worktree: any part of an
 * argument (after `=`, `:`, spaces or shell punctuation, or after the letters of a glued short
 * option like `-o/tmp/x`) that is absolute, starts with `~`, looks like a shell expansion
 * (`$HOME`, `${x}`, `$(…)`: execFile does not expand them, but a program that hands its argument
 * to a shell would), climbs out with `..`, or is an existing path whose real location (symlinks
 * followed) is outside. This confines what a prompt can ask an allow-listed program to touch by
 * name; it is not a sandbox (SECURITY.md).
 *
 * @example
 * confineArgs('/ws/a1', ['src/x.ts']);          // ok
 * confineArgs('/ws/a1', ['-o/tmp/x']);          // throws WorkspaceError naming the argument
 */
export function confineArgs(cwd: string, args: readonly string[]): void {
  const root = realpathSync(cwd);
  for (const [i, arg] of args.entries()) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000]/.test(arg)) throw new WorkspaceError(`argument ${i} contains a NUL byte`);
    const refuse = (why: string): never => {
      throw new WorkspaceError(`argument ${i} ${JSON.stringify(arg.slice(0, 200))} ${why}`);
    };
    if (/\$[A-Za-z_{(]/.test(arg)) refuse('looks like a shell expansion; refused');
    for (const c of pathCandidates(arg)) {
      const target = resolve(root, c);
      const escapes = c.startsWith('~') || c.startsWith('/') || !within(root, target) || (existsSync(target) && !within(root, realpathSync(target)));
      if (escapes) refuse('names a path outside the worktree');
    }
  }
}
