/** One entry of `git worktree list --porcelain`. */
export interface WorktreeEntry {
  readonly path: string;
  readonly head: string | undefined;
  /** Full ref, e.g. `refs/heads/agents/a1`; undefined when detached or bare. */
  readonly branch: string | undefined;
  readonly bare: boolean;
  readonly detached: boolean;
  /** Lock reason ('' when locked without one); undefined when not locked. */
  readonly locked: string | undefined;
  /** Why git would prune it (its directory is gone); undefined when healthy. */
  readonly prunable: string | undefined;
}

/**
 * Parses `git worktree list --porcelain -z` output (records separated by an empty field,
 * NUL-separated so paths with newlines survive).
 *
 * @example
 * parseWorktreeList('worktree /r\0HEAD abc\0branch refs/heads/main\0\0');
 * // [{ path: '/r', head: 'abc', branch: 'refs/heads/main', ... }]
 */
export function parseWorktreeList(output: string): WorktreeEntry[] {
  const entries: WorktreeEntry[] = [];
  let current: { -readonly [K in keyof WorktreeEntry]: WorktreeEntry[K] } | undefined;
  for (const field of output.split('\0')) {
    if (field === '') {
      if (current) entries.push(current);
      current = undefined;
      continue;
    }
    const space = field.indexOf(' ');
    const key = space < 0 ? field : field.slice(0, space);
    const value = space < 0 ? '' : field.slice(space + 1);
    if (key === 'worktree') {
      if (current) entries.push(current);
      current = { path: value, head: undefined, branch: undefined, bare: false, detached: false, locked: undefined, prunable: undefined };
      continue;
    }
    if (!current) continue;
    if (key === 'HEAD') current.head = value;
    else if (key === 'branch') current.branch = value;
    else if (key === 'bare') current.bare = true;
    else if (key === 'detached') current.detached = true;
    else if (key === 'locked') current.locked = value;
    else if (key === 'prunable') current.prunable = value;
  }
  if (current) entries.push(current);
  return entries;
}

/**
 * Splits git's `-z` output into its fields.
 *
 * @example
 * splitNul('a\0b\0'); // ['a', 'b']
 */
export const splitNul = (s: string): string[] => s.split('\0').filter((x) => x !== '');
