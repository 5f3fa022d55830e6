import { WorkspaceError } from '../../errors.js';
import { gitSafetyConfig } from './gitSafety.js';

// The git subcommands an agent may run when a user allow-lists `git`: ones that read or change
// the worktree and its branch. Not here, so refused: everything that writes config (`config`,
// `remote`, `submodule`, `sparse-checkout`, `worktree`, `init`, `clone`), talks to another
// repository (`fetch`, `pull`, `push`, `ls-remote`, `archive --remote`), or runs a program by
// design (`bisect run`, `rebase --exec`, `difftool`, `mergetool`, `filter-branch`, aliases).
// Refs are shared by every worktree: `checkout`/`switch` (then `reset` or `commit` on a user's
// branch), `stash` and `notes` are left out, and `branch`/`tag` may only list or create.
const SUBCOMMANDS = new Set([
  'status', 'log', 'show', 'diff', 'add', 'rm', 'mv', 'restore', 'commit', 'branch',
  'grep', 'ls-files', 'rev-parse', 'blame', 'reset', 'tag', 'merge', 'cherry-pick', 'revert',
  'shortlog', 'describe', 'cat-file', 'ls-tree', 'apply', 'format-patch', 'archive', 'clean',
]);

// Long options of `branch` and `tag` that move, delete or rename a ref another worktree (the
// user's checkout) may be using; and short ones, also inside a cluster (`-fD`).
const REF_WRITE_OPTIONS = ['delete', 'force', 'move', 'copy', 'set-upstream-to', 'unset-upstream', 'edit-description', 'track'];
const REF_WRITE_SHORT = /^-[a-zA-Z]*[dDfmMcCu]/;

// What makes `branch` or `tag` list (its other arguments are then patterns or commits). Without
// one, a name creates a ref: refused, as a tag `main` or a branch `origin/main` an agent made
// shadowed the user's own for `git merge main` (git reads refs/tags/X before refs/heads/X, and
// refs/heads/X before refs/remotes/X), which then merged the agent's work (a hostile-model try).
const LISTS: Record<'branch' | 'tag', RegExp> = {
  branch: /^(-[a-zA-Z]*[arlv][a-zA-Z]*|--(list|all|remotes|verbose|contains|no-contains|merged|no-merged|points-at|show-current)(=.*)?)$/,
  tag: /^(-[a-zA-Z]*[l][a-zA-Z]*|-n\d*|--(list|contains|no-contains|merged|no-merged|points-at)(=.*)?)$/,
};

// The merge strategies git has built in. git runs any other `--strategy=<name>` as the program
// `git-merge-<name>`, a path when the name holds a `/`: `cherry-pick --strategy=x/y` ran a script
// the model had made with `git apply` (a hostile-model try).
const STRATEGIES = new Set(['ort', 'recursive', 'resolve', 'octopus', 'ours', 'subtree']);

// Long options of allowed subcommands that run a program or reach another repository.
// `--build-fake-ancestor=<file>` writes an index file after each patch: with two patches, the
// first repointed a link the checked path went through, and the second write landed outside (in
// the user's .git/index, info/grafts, info/exclude; a hostile-model try).
const REFUSED_LONG = ['exec', 'upload-pack', 'receive-pack', 'remote', 'open-files-in-pager', 'textconv', 'ext-diff', 'filters', 'config-env', 'git-dir', 'work-tree', 'namespace', 'super-prefix', 'template', 'recurse-submodules', 'unsafe-paths', 'build-fake-ancestor'];
// `-O` may end a cluster of short options (`-iOsh x.sh`), so any single-dash argument holding an O.
const REFUSED_SHORT = /^(-[a-zA-Z]*O|-c$)/;

/**
 * True when `arg` is one of `names` as git would read it: the whole name or any prefix of it
 * (git expands a unique prefix: `--open-files=x` is `--open-files-in-pager=x`), with or without
 * `=value`. Names refused as prefixes too, so an abbreviation cannot slip past; git is also told
 * to refuse abbreviations (gitSafeEnv), belt and braces.
 */
function isLongOption(arg: string, names: readonly string[]): boolean {
  if (!arg.startsWith('--') || arg.length < 3) return false;
  const name = arg.slice(2).split('=')[0]!;
  if (COMPLETE_SAFE.has(name)) return false;
  return names.some((n) => n.startsWith(name) || name.startsWith(n));
}

// Whole option names that happen to begin a refused one (`--text`, `textconv`) and are harmless.
const COMPLETE_SAFE = new Set(['text', 'name-only', 'name-status']);

/**
 * The argument list git runs with for an agent: the safety overrides first, then the agent's
 * subcommand and arguments — refused unless the first argument is an allow-listed subcommand
 * (so no global option such as `-c`, `--config-env`, `-C`, `--git-dir`, `--exec-path`, and no
 * alias) and no argument is an option that runs a program (`--exec`, `--upload-pack`, `-O`…).
 *
 * @example
 * agentGitArgs(['status', '--short']); // ['-c', 'core.fsmonitor=false', …, 'status', '--short']
 * agentGitArgs(['-c', 'alias.x=!id', 'x']); // throws WorkspaceError
 */
export function agentGitArgs(args: readonly string[]): string[] {
  const sub = args[0] ?? '';
  if (!SUBCOMMANDS.has(sub)) {
    throw new WorkspaceError(`git ${JSON.stringify(sub.slice(0, 100))} is not allowed for agents (allowed: ${[...SUBCOMMANDS].join(', ')}; no global options, no aliases)`);
  }
  for (const [i, a] of args.entries()) {
    if (i > 0 && (sub === 'branch' || sub === 'tag') && (isLongOption(a, REF_WRITE_OPTIONS) || REF_WRITE_SHORT.test(a))) throw new WorkspaceError(`git ${sub} argument ${i} ${JSON.stringify(a.slice(0, 100))} is not allowed for agents: it moves or deletes a shared ref`);
    if (i > 0 && (isLongOption(a, REFUSED_LONG) || REFUSED_SHORT.test(a))) throw new WorkspaceError(`git argument ${i} ${JSON.stringify(a.slice(0, 100))} is not allowed for agents: it runs a program or reaches outside the worktree`);
    const strategy = strategyNamed(sub, args, i);
    if (strategy !== null && !STRATEGIES.has(strategy)) throw new WorkspaceError(`git argument ${i} ${JSON.stringify(a.slice(0, 100))} is not allowed for agents: only a built-in merge strategy (${[...STRATEGIES].join(', ')}); git runs any other as a program`);
  }
  // One patch file per `git apply`: a patch applied first can make a link that a later patch
  // file's name goes through, after the argument check saw that name lead inside (the same try).
  if (sub === 'apply' && args.slice(1).filter((a) => !a.startsWith('-')).length > 1) {
    throw new WorkspaceError('git apply is allowed one patch file at a time for agents (a patch applied first could redirect the next one\'s name); run it once per patch');
  }
  if ((sub === 'branch' || sub === 'tag') && !args.slice(1).some((a) => LISTS[sub].test(a))) {
    const name = args.slice(1).findIndex((a) => !a.startsWith('-'));
    if (name >= 0) throw new WorkspaceError(`git ${sub} argument ${name + 1} ${JSON.stringify(args[name + 1]!.slice(0, 100))} is not allowed for agents: an agent's git may list ${sub === 'branch' ? 'branches' : 'tags'}, not make one (its name could shadow one of yours)`);
  }
  // An agent's plain `git diff` runs no external diff: `diff.external=` (the safety override)
  // read as a program named "" made every one fail ("cannot run : No such file or directory").
  const rest = sub === 'diff' ? ['diff', '--no-ext-diff', ...args.slice(1)] : args;
  return [...gitSafetyConfig(), ...rest];
}

/**
 * The merge strategy argument `i` of `args` names, or null: `--strategy=<s>` and `--strategy <s>`
 * (by any abbreviation) for any subcommand, and for `merge` also `-s <s>`, `-s<s>`, or `s` closing
 * a cluster of short options (`-ns <s>`). Elsewhere `-s` is `--signoff`.
 */
function strategyNamed(sub: string, args: readonly string[], i: number): string | null {
  const a = args[i]!;
  const long = /^--(s|st|str|stra|strat|strate|strateg|strategy)(=(.*))?$/.exec(a);
  if (long) return long[2] !== undefined ? long[3]! : (args[i + 1] ?? '');
  if (sub !== 'merge' || !/^-[a-zA-Z]*s/.test(a)) return null;
  const glued = a.slice(a.indexOf('s') + 1);
  return glued !== '' ? glued : (args[i + 1] ?? '');
}
