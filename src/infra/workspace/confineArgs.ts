import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkspaceError } from '../../errors.js';
import { within } from './safePath.js';


/**
 * Refuses command arguments that name a place outside the worktree: absolute paths, `~`, `..`
 * that climbs out, an existing path whose real location (symlinks followed) is outside, and the
 * same after `=` in `--option=value`. This confines what a prompt can ask an allow-listed program
 * to touch by name; it is not a sandbox (an interpreter on the allow-list can still do anything
 * its code says; see SECURITY.md).
 *
 * @example
 * confineArgs('/ws/a1', ['src/x.ts']);       // ok
 * confineArgs('/ws/a1', ['../../etc/passwd']); // throws WorkspaceError naming the argument
 */
export function confineArgs(cwd: string, args: readonly string[]): void {
  const root = realpathSync(cwd);
  for (const [i, arg] of args.entries()) {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000]/.test(arg)) throw new WorkspaceError(`argument ${i} contains a NUL byte`);
    const eq = arg.indexOf('=');
    const candidates = eq > 0 && arg.startsWith('-') ? [arg, arg.slice(eq + 1)] : [arg];
    for (const c of candidates) {
      if (c === '' || (c.startsWith('-') && c === arg)) continue;
      const escapes =
        c.startsWith('~') ||
        !within(root, resolve(root, c)) ||
        (existsSync(resolve(root, c)) && !within(root, realpathSync(resolve(root, c))));
      if (escapes) throw new WorkspaceError(`argument ${i} ${JSON.stringify(arg.slice(0, 200))} names a path outside the worktree`);
    }
  }
}
