import { execFile } from 'node:child_process';
import { WorkspaceError } from '../../errors.js';
import { DRIVER_KEYS, gitSafeEnv, gitSafetyConfig, mergeDrivers, neutraliseDrivers } from './gitSafety.js';
import { backoffMs } from '../backoff.js';

/** What one git invocation produced. */
export interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface GitRunOptions {
  /** Exit codes that are answers rather than failures (`merge-base --is-ancestor` and `merge` use 1). */
  readonly okCodes?: readonly number[];
  /**
   * With `workTree`: the repository folder of the worktree at `workTree`, given to git instead of
   * letting it read the worktree's `.git` file (pinnedToWorktrees.ts).
   */
  readonly gitDir?: string;
  readonly workTree?: string;
}

/** Runs git in a given directory; every workspace module goes through one of these. */
export interface GitRunner {
  run(cwd: string, args: readonly string[], options?: GitRunOptions): Promise<GitResult>;
}

export interface GitRunnerOptions {
  /** Run the repository's hooks on agent commits and checkouts (default false: agents' commits stay fast and deterministic). */
  readonly hooks?: boolean;
  /** Git processes in flight at once through this runner (default 16). */
  readonly maxProcesses?: number;
  /** The git binary (default `git` on the PATH). */
  readonly binary?: string;
}

// Another git process (ours in another worker, or the user's) holds a lock file. Git gives
// up at once instead of waiting, so the race surfaces as one of these messages; retrying
// after a short pause is what git itself suggests.
const LOCK_CONTENTION = /\.lock'?: File exists|cannot lock ref|could not lock config file|Unable to create '[^']*\.lock'|another git process seems to be running/i;
const MAX_LOCK_RETRIES = 8;
const MAX_OUTPUT = 256 * 1024 * 1024;

/** Same identity for every agent commit and merge, so histories are reproducible in tests. */
export const CADRE_AUTHOR = { name: 'cadre', email: 'agents@cadre.local' } as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Subcommands that may run a filter (`filter.<x>.clean/smudge`) named by a path's attributes:
// before them, the filters the repository's config defines are emptied (see gitSafety.ts).
const FILTERING = new Set(['add', 'commit', 'diff', 'merge', 'worktree', 'status', 'reset', 'checkout', 'switch', 'restore', 'stash', 'clean']);

/**
 * A git runner that reports exit codes, pins cadre's author, turns off automatic gc (it
 * would race with parallel worktree adds), and retries git's own lock-file races.
 *
 * It spawns git directly rather than through simple-git: measured here, simple-git 4 waits
 * 50 ms after every git process that prints nothing (its completion plugin), which made a
 * worktree create cost ~220 ms instead of ~50 ms, and it folds exit codes into messages.
 *
 * @example
 * const git = createGitRunner();
 * const { stdout } = await git.run('/repo', ['rev-parse', 'HEAD']);
 */
export function createGitRunner(options: GitRunnerOptions = {}): GitRunner {
  const config = [
    `user.name=${CADRE_AUTHOR.name}`,
    `user.email=${CADRE_AUTHOR.email}`,
    'rerere.enabled=false',
    'core.quotePath=false',
    'advice.detachedHead=false',
  ].flatMap((c) => ['-c', c]).concat(gitSafetyConfig({ hooks: options.hooks ?? false }));
  // No secret of cadre's reaches git or anything git might start (see gitSafety.ts).
  const env = gitSafeEnv(process.env.PATH, '/nonexistent');
  const binary = options.binary ?? 'git';
  const slots = createSemaphore(options.maxProcesses ?? 16);

  const spawnGit = (cwd: string, args: readonly string[], pin: GitRunOptions): Promise<GitResult> =>
    slots.run(
      () =>
        new Promise((resolveResult, reject) => {
          const where = pin.gitDir && pin.workTree ? [`--git-dir=${pin.gitDir}`, `--work-tree=${pin.workTree}`, '-C', cwd] : ['-C', cwd];
          execFile(binary, [...config, ...where, ...args], { env, maxBuffer: MAX_OUTPUT, encoding: 'utf8' }, (error, stdout, stderr) => {
            if (!error) return resolveResult({ code: 0, stdout, stderr });
            const code = (error as NodeJS.ErrnoException & { code?: unknown }).code;
            if (typeof code === 'number') return resolveResult({ code, stdout, stderr });
            reject(new WorkspaceError(`git ${args.join(' ')} could not run in ${cwd}: ${error.message}`, { cause: error }));
          });
        }),
    );

  // Whatever an agent planted in the shared config (a filter on `* filter=x`, a merge driver)
  // must not run in cadre's own add, diff, commit or merge: filters are emptied, textconv and
  // external diff are off for every diff, and a merge with a configured driver is refused.
  const once = async (cwd: string, args: readonly string[], pin: GitRunOptions): Promise<GitResult> => {
    const sub = args[0] ?? '';
    if (!FILTERING.has(sub)) return spawnGit(cwd, args, pin);
    const listing = (await spawnGit(cwd, ['config', '--get-regexp', DRIVER_KEYS], pin)).stdout;
    if (sub === 'merge' && args[1] !== '--abort' && mergeDrivers(listing).length > 0) {
      throw new WorkspaceError(`refusing to merge in ${cwd}: the repository's config names merge drivers (${mergeDrivers(listing).join(', ')}), which would run a program`);
    }
    const extra = sub === 'diff' ? ['diff', '--no-textconv', '--no-ext-diff', ...args.slice(1)] : args;
    return spawnGit(cwd, [...neutraliseDrivers(listing), ...extra], pin);
  };

  return {
    async run(cwd, args, runOptions = {}) {
      const ok = runOptions.okCodes ?? [0];
      for (let attempt = 0; ; attempt++) {
        const result = await once(cwd, args, runOptions);
        if (ok.includes(result.code)) return result;
        if (attempt < MAX_LOCK_RETRIES && LOCK_CONTENTION.test(result.stderr)) {
          await sleep(backoffMs(attempt, { baseMs: 10, maxMs: 320, jitter: 20 }));
          continue;
        }
        throw new WorkspaceError(`git ${args.join(' ')} failed in ${cwd} (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
      }
    },
  };
}

/** Caps processes in flight: 50 agents committing at once should not fork 200 gits on 2 cores. */
function createSemaphore(size: number): { run<T>(fn: () => Promise<T>): Promise<T> } {
  let free = size;
  const waiting: Array<() => void> = [];
  return {
    async run(fn) {
      if (free > 0) free--;
      else await new Promise<void>((r) => waiting.push(r));
      try {
        return await fn();
      } finally {
        const next = waiting.shift();
        if (next) next();
        else free++;
      }
    },
  };
}
