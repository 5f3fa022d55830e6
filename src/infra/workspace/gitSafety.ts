/**
 * What every git process cadre starts — its own and, when a user allows git, an agent's — runs
 * with, so that nothing an agent could have planted in the repository's config, attributes or
 * hooks runs a program, and nothing secret is in the environment such a program would inherit.
 *
 * The environment holds only what git needs: PATH, a HOME that is not the user's, the C locale,
 * no prompts, and no system or global config (a user's `~/.gitconfig` could name filters, a pager
 * or credential helpers; cadre's commits need none of them). Every `GIT_*` variable of the
 * caller is dropped (from inside a hook, `GIT_DIR` would redirect our commands elsewhere).
 */
export function gitSafeEnv(path: string | undefined, home: string): NodeJS.ProcessEnv {
  return {
    PATH: path ?? '/usr/bin:/bin',
    HOME: home,
    LC_ALL: 'C',
    LANGUAGE: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_MERGE_AUTOEDIT: 'no',
    GIT_OPTIONAL_LOCKS: '0',
    // git takes any unique prefix of a long option (`--open-files` for `--open-files-in-pager`,
    // `--forc` for `--force`): an agent used that past the option checks (found by attacking).
    // With this, git dies on an abbreviation instead (parse-options.c; git 2.39 checked).
    GIT_TEST_DISALLOW_ABBREVIATED_OPTIONS: '1',
  };
}

/**
 * `-c` overrides that switch off the config keys that run programs and can be turned off by
 * value: fsmonitor, hooks (unless the user asked for them), a global attributes file, pagers,
 * editors, external diff, signing. Filters and drivers are per-name (`filter.<x>.clean`) and
 * cannot be cleared generically: see {@link neutraliseDrivers}.
 */
export function gitSafetyConfig(options: { hooks?: boolean } = {}): string[] {
  return [
    'core.fsmonitor=false',
    'core.untrackedCache=false',
    'core.attributesFile=/dev/null',
    // git's own default is $HOME/.config/git/ignore: a link there to any file told an agent which
    // of its lines a name matched (`git status --ignored`; a hostile-model try).
    'core.excludesFile=/dev/null',
    // `git commit` starts a detached `git gc --auto` past a threshold: gc, repack and pack-refs on
    // the shared repository, outside the command's process group (the same try).
    'gc.auto=0',
    'maintenance.auto=false',
    'core.pager=cat',
    'core.editor=true',
    'sequence.editor=true',
    'core.sshCommand=false',
    'core.askPass=',
    'credential.helper=',
    'diff.external=',
    'commit.gpgSign=false',
    'tag.gpgSign=false',
    // An agent's own `commit -S` or `log --show-signature` still starts the signing program, with
    // HOME in the worktree, where the model can write its config (`.gnupg/gpg.conf`): none runs.
    'gpg.program=false',
    'gpg.ssh.program=false',
    'gpg.x509.program=false',
    'protocol.allow=never',
    ...(options.hooks ? [] : ['core.hooksPath=/dev/null']),
  ].flatMap((c) => ['-c', c]);
}

/** Config keys naming a program to run for a path's attribute (`filter=x`, `diff=x`, `merge=x`). */
export const DRIVER_KEYS = '^(filter|diff|merge)\\..+\\.(clean|smudge|process|textconv|command|driver)$';

/**
 * `-c` overrides emptying every filter the repository's config defines (an empty `clean` /
 * `smudge` / `process` is "no filter", and `required=false` lets it pass), given the output of
 * `git config --get-regexp DRIVER_KEYS`. Diff drivers are off by `--no-textconv --no-ext-diff`
 * on every diff cadre runs; a merge driver cannot be emptied, so the merge is refused instead
 * ({@link mergeDrivers}).
 */
export function neutraliseDrivers(configListing: string): string[] {
  const names = new Set<string>();
  for (const line of configListing.split('\n')) {
    const m = /^filter\.(.+)\.(clean|smudge|process) /.exec(line);
    if (m) names.add(m[1]!);
  }
  return [...names].flatMap((n) => ['clean', 'smudge', 'process'].map((k) => `filter.${n}.${k}=`).concat(`filter.${n}.required=false`)).flatMap((c) => ['-c', c]);
}

/** The merge drivers the config names (from the same listing): cadre refuses to merge with any. */
export function mergeDrivers(configListing: string): string[] {
  return configListing.split('\n').flatMap((line) => /^merge\.(.+)\.driver /.exec(line)?.[1] ?? []);
}
