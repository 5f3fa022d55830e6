import { lstatSync, realpathSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
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
 * Where `candidate` (relative, no `..`) leads from `root` (a real path) as the kernel resolves
 * it: component by component, each symbolic link met on the way followed to where it leads, so
 * a link to `/` inside the worktree does not make `link/tmp/x` (which does not exist yet: an
 * `--output` to write) a path inside. The part past the last existing component is made where
 * that component really is. Null for a link that leads nowhere: writing through it makes its
 * target, anywhere.
 */
function resolvedPlace(root: string, candidate: string): string | null {
  let current = root;
  for (const part of candidate.split('/')) {
    if (part === '' || part === '.') continue;
    const next = join(current, part);
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch {
      current = next; // missing: what follows is made under `current`
      continue;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    try {
      current = realpathSync(next);
    } catch {
      return null;
    }
    if (!within(root, current)) return current;
  }
  return current;
}

const GIT_OWN = "names the worktree's `.git`, which tells git where its repository is: not the agent's to read or write";
/**
 * The worktree's own `.git`, in any case (one file on a case-insensitive disk). Only that name:
 * `.git.` or `GIT~1` are git's on Windows alone, plain files here, and left out of the agent's
 * commit when a program makes them (commitWorkspace.ts).
 */
const isDotGit = (part: string): boolean => part.toLowerCase() === '.git';

/**
 * Refuses command arguments that could name a place outside the worktree: any part of an
 * argument (after `=`, `:`, spaces or shell punctuation, or after the letters of a glued short
 * option like `-o/tmp/x`) that is absolute, starts with `~`, looks like a shell expansion
 * (`$HOME`, `${x}`, `$(…)`: execFile does not expand them, but a program that hands its argument
 * to a shell would), holds a `..` component, or leads outside through a symbolic link on its
 * way. `..` is refused even where it reads as inside: the kernel applies it after following the
 * link before it, so `link/../../secret` left the worktree although it reads as `../secret`
 * minus two (a hostile-model try read cadre's own environment that way with `cat`). This confines
 * what a prompt can ask an allow-listed program to touch by name; it is not a sandbox
 * (SECURITY.md). Nor may a part name `.git` (as the file tools may not), directly or through a
 * link: `git log --output=.git` rewrote the worktree's pointer to its repository, to a folder the
 * model had written with a config that ran a program (a hostile-model try).
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
      if (c.startsWith('~') || c.startsWith('/') || !within(root, resolve(root, c))) refuse('names a path outside the worktree');
      if (c.split('/').includes('..')) refuse('holds a `..` component, which may leave the worktree through a symbolic link; name the path without it');
      if (c.split('/').some(isDotGit)) refuse(GIT_OWN);
      const place = resolvedPlace(root, c);
      if (place === null || !within(root, place)) refuse('names a path outside the worktree (through a symbolic link)');
      if (relative(root, place!).split(sep).some(isDotGit)) refuse(`${GIT_OWN} (through a symbolic link)`);
    }
  }
}
