import type { AgentSystem } from '../system.js';
import type { Reports } from '../projections/reports.js';
import type { ProjectionStatus } from '../projections/runner.js';
import type { CleanupResult, WorkspaceDiff, WorkspaceListing } from '../infra/workspace/workspaceTypes.js';
import { CliError, EXIT, NotAvailable } from './cliError.js';

/**
 * What the CLI and the dashboard use of the modules layered on the runtime. They live in
 * `system.extensions.<name>` once the composition root wires them; these are the shapes the
 * CLI relies on (structural, so the modules need not import the CLI).
 */
export interface ProjectionsExtension {
  status(): Promise<ProjectionStatus[]>;
  rebuild(name: string): Promise<void>;
  readonly projectionNames?: string[];
}

export interface MessagingExtension {
  send(from: string, to: string, payload: unknown, options?: { priority?: number }): Promise<{ messageId: string }>;
  /** Pending messages of an agent without claiming them (preferred by `cadre inbox`). */
  peek?(recipient: string, options?: { limit?: number }): Promise<unknown[]>;
  /** Claims messages (records MessageReceived); `cadre inbox --claim` uses it. */
  receive?(recipient: string, options?: { max?: number; ack?: boolean }): Promise<unknown[]>;
  deadLetters?(options?: { limit?: number }): Promise<unknown[]>;
}

export interface TemplateSummary {
  readonly id: string;
  readonly name?: string;
  readonly description?: string;
  readonly nodes?: ReadonlyArray<{ id: string; role: string; budgetPercent?: number; dependencies?: readonly string[] }>;
}

/** A handle-like object for a spawned workflow: an id and a run. */
export interface WorkflowHandleLike {
  readonly id: string;
  run(): Promise<{ status: string; output: string | null; budgetConsumed: number }>;
}

export interface WorkflowsExtension {
  spawnWorkflow(options: { templateId?: string; graph?: unknown; task: string; budget: number; workspace?: boolean }): Promise<WorkflowHandleLike>;
  decompose?(task: string, options: { budget: number }): Promise<unknown>;
  /** Spawns a workflow from an auto-decomposed plan (preferred by `cadre run --auto` when present). */
  spawnAuto?(options: { task: string; budget: number; workspace?: boolean }): Promise<WorkflowHandleLike>;
  templates: {
    list(): Promise<readonly TemplateSummary[]> | readonly TemplateSummary[];
    get(id: string): Promise<TemplateSummary | null | undefined> | TemplateSummary | null | undefined;
  };
}

export interface WorkspacesExtension {
  list(): Promise<WorkspaceListing[]>;
  diff(agentId: string, options?: { maxBytes?: number }): Promise<WorkspaceDiff>;
  remove(agentId: string, options?: { deleteBranch?: boolean; force?: boolean }): Promise<{ removed: boolean }>;
  /** Ended agents' worktrees and merged branches, removed as the configured cleanup policy says. */
  cleanup(options?: { dryRun?: boolean; deleteBranches?: boolean }): Promise<CleanupResult>;
}

export interface WorkerExtension {
  /** Hosts live actors until `stop()` (leases, polling for new work). */
  start(options?: { concurrency?: number }): Promise<{ stop(): Promise<void> }>;
}

export interface Extensions {
  reports: Reports;
  projections: ProjectionsExtension;
  messaging: MessagingExtension;
  workflows: WorkflowsExtension;
  workspaces: WorkspacesExtension;
  worker: WorkerExtension;
}

const WHAT: Record<keyof Extensions, string> = {
  reports: 'reporting (projections)',
  projections: 'the projection runner',
  messaging: 'messaging',
  workflows: 'workflows',
  workspaces: 'workspaces',
  worker: 'the worker',
};

/** The extension if it is wired, else null. */
export function optionalExtension<K extends keyof Extensions>(system: Pick<AgentSystem, 'extensions'>, name: K): Extensions[K] | null {
  const ext = system.extensions[name];
  return ext === undefined || ext === null ? null : (ext as Extensions[K]);
}

/** The extension, or a `NotAvailable` error the CLI prints as one line with a hint. */
export function requireExtension<K extends keyof Extensions>(system: Pick<AgentSystem, 'extensions'>, name: K): Extensions[K] {
  const ext = optionalExtension(system, name);
  if (ext) return ext;
  // The one module that is missing for a reason of the user's: there is no repository.
  if (name === 'workspaces') throw new CliError('no git repository here, so there are no worktrees', { exitCode: EXIT.failure, hint: 'run cadre inside a git checkout, or set WORKSPACE_REPO to one' });
  throw new NotAvailable(WHAT[name], name);
}
