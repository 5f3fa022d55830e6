import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { WorkspaceFilesPort, WorkspacePort } from '../../actors/ports/workspacePort.js';
import { WorkspaceError } from '../../errors.js';
import { createWorkspaceManager, type WorkspaceManager, type WorkspaceManagerOptions } from './workspaceManager.js';
import { createWorkspaceFiles } from './workspaceFiles.js';
import { confineArgs } from './confineArgs.js';
import { refuseLinkFollowing } from './refuseLinkFollowing.js';
import { refusePathLists } from './refusePathLists.js';
import { refuseCodeRunning } from './refuseCodeRunning.js';
import { confinedArgv } from './confinedArgv.js';
import { gitSafeEnv } from './gitSafety.js';
import { worktreeGitDir } from './worktreeGitDir.js';
import { createConfinedRunner, type ConfinedRunner } from './runConfined.js';

/**
 * The programs `run_command` may start when commands are on and no list is given: ones that only
 * read the files their arguments name. No interpreter, package manager, shell or git: each runs
 * whatever code it is handed (`node -e` can read `/proc/<ppid>/environ`, cadre's environment,
 * without naming a path), so no argument check can confine them (SECURITY.md).
 */
export const DEFAULT_ALLOWED_COMMANDS: readonly string[] = ['ls', 'cat', 'head', 'tail', 'wc'];

export interface WorkspacePortOptions extends WorkspaceManagerOptions {
  /** Commands agents may run with `run_command` (by program name). Empty: none. */
  readonly allowedCommands?: readonly string[];
}

/**
 * The runtime's view of git worktrees, over the WorkspaceManager. The manager is opened on
 * first use, so a system whose agents never ask for a workspace never needs a repository.
 */
export function createWorkspacePort(options: WorkspacePortOptions): WorkspacePort & { manager(): Promise<WorkspaceManager> } {
  let opening: Promise<WorkspaceManager> | undefined;
  // A failed open (git down for a moment, say) is forgotten, so the next use tries again.
  const manager = (): Promise<WorkspaceManager> =>
    (opening ??= createWorkspaceManager(options).catch((err: unknown) => {
      opening = undefined;
      throw err;
    }));
  const allowed = new Set(options.allowedCommands ?? []);
  const runners = new Map<string, ConfinedRunner>();
  // Only PATH (and a HOME inside the worktree) reaches a command: none of cadre's variables.
  const PATH = process.env.PATH ?? '/usr/bin:/bin';
  const repo = existsSync(options.repo) ? realpathSync(resolve(options.repo)) : resolve(options.repo);
  // An agent's git finds its repository through GIT_DIR, never through the worktree's `.git`
  // file, which the agent may have rewritten (see worktreeGitDir.ts).
  const pinnedGitDir = async (m: WorkspaceManager, cwd: string): Promise<{ GIT_DIR: string; GIT_WORK_TREE: string }> => {
    const gitDir = await worktreeGitDir(m.commonDir, cwd);
    if (gitDir === null) throw new WorkspaceError(`${cwd} is not a worktree of ${m.repoRoot} that git knows of: an agent's git runs only in its worktree`);
    return { GIT_DIR: gitDir, GIT_WORK_TREE: cwd };
  };
  return {
    repo,
    isOtherRepository: (other) => other !== repo && existsSync(other),
    manager,
    async reaches(agentId, path) {
      // Git failing to open the repository says nothing about where the worktree is: a worker
      // that declined on it left every worktree agent for a minute through each git outage.
      const m = await manager().catch(() => null);
      if (m === null) return true;
      const mine = m.pathOf(agentId);
      // The same folder by another name (a symlinked temp folder) is the same worktree.
      return resolve(mine) === resolve(path) || (existsSync(path) && existsSync(mine) && realpathSync(mine) === realpathSync(path));
    },
    async unusable() {
      const m = await manager().catch(() => null);
      if (m === null || (await m.hasHead())) return null;
      return `the repository ${m.repoRoot} has no commit yet, and a worktree branches from one: make a first commit (git commit --allow-empty -m init)`;
    },
    async hasCommit(commit) {
      const m = await manager().catch(() => null);
      return m === null ? true : m.hasCommit(commit);
    },
    async create(agentId, o) {
      const info = await (await manager()).create(agentId, o);
      return { path: info.path, branch: info.branch, baseBranch: info.baseBranch, baseCommit: info.baseCommit };
    },
    async commit(agentId, message) {
      const r = await (await manager()).commit(agentId, message);
      return r ? { commit: r.commit, files: [...r.files] } : null;
    },
    async merge(childId, intoId) {
      const m = await manager();
      // The target must be clean: checkpoint the parent's own work first (recorded by the caller
      // through the returned commit when it matters; here it only keeps the merge safe).
      await m.commit(intoId, `cadre: checkpoint before merging ${childId}`);
      return m.merge(childId, intoId);
    },
    async remove(agentId, o) {
      return (await manager()).remove(agentId, { deleteBranch: o.deleteBranch, force: true, ...(o.keepUnsaved ? { keepUnsaved: o.keepUnsaved } : {}) });
    },
    files(_agentId, path): WorkspaceFilesPort {
      const f = createWorkspaceFiles(path);
      // Holding the worktree, as commands, commits and merges do: the tools of one reply run at
      // once, and a `git apply` beside them turned a folder they had checked into a link out of
      // the worktree (a hostile-model try: a write_file landed in the repository's .git/config,
      // a search_files read /etc/passwd). A file tool now waits for the command, or it for them.
      const holding = async <T>(fn: () => Promise<T>): Promise<T> => (await manager()).holdingWorktree(path, fn);
      return {
        read: (p, o) => holding(async () => (await f.read(p, o)).content),
        write: (p, content) =>
          holding(async () => {
            await f.write(p, content);
          }),
        list: (dir, o) => holding(async () => (await f.list(dir, o)).entries.filter((e) => e.type === 'file').map((e) => e.path)),
        search: (pattern, o) => holding(async () => (await f.search(pattern, o)).matches.map((m) => ({ path: m.path, line: m.line, text: m.text }))),
      };
    },
    stop(agentId) {
      for (const [id, r] of runners) {
        if (agentId !== undefined && id !== agentId) continue;
        r.killAll();
        runners.delete(id);
      }
    },
    async run(agentId, cwd, command, args, timeoutMs) {
      if (!allowed.has(command)) throw new WorkspaceError(`command ${JSON.stringify(command)} is not in the allow-list (${[...allowed].join(', ') || 'empty'})`);
      const argv = confinedArgv(command, args);
      const m = await manager();
      // git reads nothing from a HOME (its default excludes file is $HOME/.config/git/ignore).
      const env = command === 'git' ? { ...gitSafeEnv(PATH, '/nonexistent'), ...(await pinnedGitDir(m, cwd)) } : { PATH, HOME: cwd, LC_ALL: 'C' };
      let runner = runners.get(agentId);
      if (!runner) runners.set(agentId, (runner = createConfinedRunner()));
      const confined = runner;
      // Holding the worktree, as cadre's commits and merges do: a child's merge into this worktree
      // made a link under a command already checked and running (`tail -F d/x` read /etc through
      // it; a hostile-model try). The merge now waits for the command, or the command for it.
      return m.holdingWorktree(cwd, () =>
        confined.run(command, argv, { cwd, env, timeoutMs, check: () => (refuseLinkFollowing(command, args), refusePathLists(command, args), refuseCodeRunning(command, args), confineArgs(cwd, args)) }),
      );
    },
  };
}
