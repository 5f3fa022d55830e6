/** What the runtime asks of git worktrees (implemented by src/infra/workspace). */
export interface WorkspaceInfo {
  readonly path: string;
  readonly branch: string;
  readonly baseBranch: string;
  readonly baseCommit: string;
}

/**
 * Which files a worktree keeps itself for, when removed: `all`, any its HEAD does not hold,
 * ignored or not; `work`, those a commit would take, and the ignored ones too when the agent wrote
 * or changed a .gitignore (its own ignores hid its work; the repository's hide build output).
 */
export type KeepUnsaved = 'all' | 'work';

export type MergeOutcome =
  | { readonly status: 'merged'; readonly commit: string | null; readonly files: readonly string[] }
  | { readonly status: 'conflict'; readonly files: readonly string[] }
  | { readonly status: 'up_to_date' };

export interface WorkspaceFilesPort {
  read(path: string, options?: { maxBytes?: number }): Promise<string>;
  write(path: string, content: string): Promise<void>;
  list(dir?: string, options?: { recursive?: boolean; limit?: number }): Promise<string[]>;
  search(pattern: string, options?: { glob?: string; limit?: number; regex?: boolean }): Promise<Array<{ path: string; line: number; text: string }>>;
}

export interface WorkspacePort {
  /** The real path of the repository it makes worktrees in, when it knows it (recorded in a root's request). */
  readonly repo?: string;
  /**
   * Whether `repo` (a path a request recorded) is another repository of this machine than this
   * port's. False when that path is not here: a worker in a container sees the same repository
   * under another path (docker-compose mounts it at /app) and cannot tell it is another.
   */
  isOtherRepository?(repo: string): boolean;
  create(agentId: string, options: { baseBranch?: string }): Promise<WorkspaceInfo>;
  commit(agentId: string, message: string): Promise<{ commit: string; files: string[] } | null>;
  merge(childAgentId: string, intoAgentId: string): Promise<MergeOutcome>;
  /**
   * `keepUnsaved`: leave a worktree holding files its last commit does not (uncommitted, or
   * ignored by a .gitignore the agent wrote, as asked) and answer `kept: true`.
   */
  remove(agentId: string, options: { deleteBranch: boolean; keepUnsaved?: KeepUnsaved }): Promise<{ removed: boolean; kept?: boolean }>;
  files(agentId: string, path: string): WorkspaceFilesPort;
  /** Run a command in the worktree (only when allowed by config). */
  run?(agentId: string, path: string, command: string, args: readonly string[], timeoutMs: number): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** Kill the commands still running for an agent that ended (or, without an id, for everyone: the system is closing). */
  stop?(agentId?: string): void;
  /**
   * Whether the worktree recorded at `path` for `agentId` is this process's to work on: where its
   * repository keeps that agent's worktree. False for one made from another folder's repository
   * (a worker started elsewhere). True when it cannot tell (git failing for a moment): the
   * agent's effects retry git themselves.
   */
  reaches?(agentId: string, path: string): Promise<boolean>;
  /** Why no worktree can be made in this repository now (it has no commit yet), or null; null when it cannot tell. */
  unusable?(): Promise<string | null>;
  /** Whether `commit` is in this repository (a fork's worktree starts at one); true when it cannot tell. */
  hasCommit?(commit: string): Promise<boolean>;
}
