import type { ForkOptions } from '../actors/runtime/forking.js';
import type { EventStore } from '../events/eventStore.js';
import type { AgentRuntime, RunResult } from '../actors/runtime.js';
import type { AgentHandle, OutputOf } from '../actors/agentHandle.js';
import type { z } from 'zod';
import type { SpawnConfig } from '../actors/spawnConfig.js';
import type { AgentState } from '../actors/replay.js';
import type { HistoryEvent } from '../events/historyEvent.js';
import type { SystemEventsOptions } from '../events/systemEvents.js';
import type { Logger } from '../actors/ports/runtimePorts.js';
import type { ModelProvider } from '../actors/ports/modelProvider.js';
import type { SqlClient } from '../infra/sql/sqlClient.js';
import type { Redactor } from '../infra/redact.js';
import type { Messaging } from '../messaging/index.js';
import type { Workspaces } from '../infra/workspace/workspaces.js';
import type { DecomposeOptions, SpawnWorkflowRequest, WorkflowHandle, WorkflowsApi } from '../workflows/index.js';
import type { ProjectionRunner, Reports } from '../projections/index.js';

/**
 * A running cadre: the event store, the runtime with every live actor, and its adapters.
 *
 * @example
 * const system = await createAgentSystem();            // embedded PGlite, offline model
 * const agent = await system.spawn({ role: 'researcher', task: 'Summarise the repo', budget: 10_000 });
 * console.log(await agent.run());
 * await system.close();
 */
export interface AgentSystem {
  /** The event store: the low-level port, where revisions and positions stay bigint (README, "Using it from code"). */
  readonly store: EventStore;
  readonly model: ModelProvider;
  readonly logger: Logger;
  /** The Postgres schema of cadre's tables. */
  readonly schema: string;
  /** Removes the configured secrets and secret-shaped strings from text and values (src/infra/redact.ts). */
  readonly redactor: Redactor;
  /** Queries over the Postgres read models (tree, budget, cost by role, activity, ...). */
  readonly reports: Reports;
  /** The projection runner: status (position, lag) and rebuilds of the read models. */
  readonly projections: ProjectionRunner;
  /** Workflows: spawn from a template, a graph or the model's plan; templates; progress. */
  readonly workflows: WorkflowsApi;
  /** Durable messages between agents; the inbox and dead-letter queries. */
  readonly messaging: Messaging;
  /** Agents' git worktrees; with no repository its methods refuse, saying why. */
  readonly workspaces: Workspaces;
  /**
   * The raw SQL client and the actor runtime, for cadre's own CLI, dashboard, tests and
   * benchmarks. Unstable: not part of the public API, may change in any release (not semver).
   */
  readonly internal: SystemInternals;
  /**
   * Spawns a root agent; with `output` (a zod schema), its handle's `run()` resolves to the parsed,
   * typed value. With `start`, its opening holds the run request: a process that dies right after
   * the spawn leaves an agent a worker runs, not one that waits for a `start` nobody will send.
   */
  spawn<S extends z.ZodType | undefined = undefined>(config: SpawnConfig & { output?: S }, options?: { start?: boolean }): Promise<AgentHandle<OutputOf<S>>>;
  /**
   * Forks an agent as it was at a revision of its stream, with its subtree: a new root agent (new
   * id, new stream, its own budget) whose AgentSpawned carries `forkedFrom`, and a fork of every
   * child it had by then, cut at the same point; the source is only read (docs/fork.md).
   * @example
   * const fork = await system.fork(agentId, { atRevision: 6, model: 'claude-opus-4' });
   */
  fork(agentId: string, options: ForkOptions): Promise<AgentHandle<string>>;
  /** A handle to an existing agent; give its `output` schema to have its results parsed as when it was spawned. */
  get<O = string>(agentId: string, options?: { output?: z.ZodType<O> }): AgentHandle<O>;
  /** The agent's recorded events, oldest first; revisions and positions are numbers (JSON-safe). */
  history(agentId: string): Promise<HistoryEvent[]>;
  /**
   * Every agent's events strictly after `fromPosition` (default: all), in global position order,
   * then live as any process on the store appends them. It never ends by itself: the loop stops
   * when the consumer breaks out (the subscription is released) or when the system closes.
   *
   * @example
   * for await (const e of system.events({ fromPosition: lastSeen })) {
   *   console.log(e.position, e.streamId, e.type);
   *   lastSeen = e.position;
   * }
   */
  events(options?: SystemEventsOptions): AsyncGenerator<HistoryEvent, void, undefined>;
  /** The agent's state as it was at `toRevision` (a number or a bigint; default: now). */
  replay(agentId: string, options?: { toRevision?: bigint | number }): Promise<AgentState>;
  /** Terminates any agent's subtree (an operator's kill switch). */
  terminate(agentId: string, reason?: string): Promise<void>;
  /** `system.get(agentId).run(options)`: aborting `options.signal` cancels the agent's subtree. */
  run(agentId: string, options?: { signal?: AbortSignal }): Promise<RunResult>;
  /** Spawns a workflow agent from a template or a graph. */
  spawnWorkflow(request: SpawnWorkflowRequest): Promise<WorkflowHandle>;
  /** Asks the model to decompose a task into a workflow graph, validates it, and spawns it. */
  decompose(task: string, options: DecomposeOptions): Promise<WorkflowHandle>;
  close(): Promise<void>;
}

/** `system.internal`: unstable, for cadre's own tools; not covered by semver. */
export interface SystemInternals {
  readonly sql: SqlClient;
  readonly runtime: AgentRuntime;
}
