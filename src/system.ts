import { z } from 'zod';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EventStore } from './events/eventStore.js';
import { createEventStore } from './events/stores/createEventStore.js';
import { openPostgresEventStore, type PostgresEventStore } from './events/stores/postgres/postgresEventStore.js';
import { AgentRuntime, type RunResult } from './actors/runtime.js';
import { AgentHandle } from './actors/agentHandle.js';
import type { SpawnConfig } from './actors/spawnConfig.js';
import type { AgentState } from './actors/replay.js';
import type { HistoryEvent } from './events/historyEvent.js';
import { revisionArg } from './events/safeNumber.js';
import type { Clock, IdGenerator, Logger } from './actors/ports/runtimePorts.js';
import type { AgentContext } from './actors/agentContext.js';
import type { ModelProvider } from './actors/ports/modelProvider.js';
import type { WorkspacePort } from './actors/ports/workspacePort.js';
import type { SqlClient } from './infra/sql/sqlClient.js';
import { createPgClient } from './infra/sql/pgClient.js';
import { createActorIndex, createBlobStore, createSnapshotStore, migrateRuntime } from './infra/postgres/runtimeTables.js';
import { EVENTSTOREDB_URL, readEnv, type Env } from './infra/config.js';
import { createLogger, redactingLogger } from './infra/logger.js';
import { createRedactor, urlPassword, type Redactor } from './infra/redact.js';
import { redactingModel } from './infra/model/redactingModel.js';
import { parseTerminationReason } from './actors/terminationReason.js';
import { isDeadLocalOwner, processOwnerName, systemClock, systemIds } from './infra/ids.js';
import { createModelProvider } from './infra/model/createModelProvider.js';
import { costOfWarningUnpriced } from './actors/pricing.js';
import { parseInput } from './validation.js';
import { ConfigError, NotFound, StoreLocked, StoreNotFound } from './errors.js';
import { holderOf } from './infra/sql/storeFolderLock.js';
import { openEmbeddedReader } from './infra/sql/embeddedReader.js';
import { createMessaging, type Messaging, type MessagingService } from './messaging/index.js';
import { createWorkspacePort, DEFAULT_ALLOWED_COMMANDS } from './infra/workspace/workspacePort.js';
import { findGitRoot } from './infra/workspace/findGitRoot.js';
import { createWorkspaces, type Workspaces } from './infra/workspace/workspaces.js';
import type { AgentEnd } from './infra/workspace/cleanupWorkspaces.js';
import { attachWorkflows, createWorkflowsApi, loadTemplates, type DecomposeOptions, type SpawnWorkflowRequest, type WorkflowHandle, type WorkflowsApi } from './workflows/index.js';
import { ProjectionRunner, createReports, defaultProjections, type Reports } from './projections/index.js';
import type { AgentOutcome, CleanupPolicy } from './actors/cleanupPolicy.js';

const StoreOption = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pglite'), dataDir: z.string().min(1).optional() }),
  z.object({ kind: z.literal('postgres'), connectionString: z.string().min(1) }),
  z.object({ kind: z.literal('eventstoredb'), connectionString: z.string().min(1) }),
]);

export const SystemOptionsSchema = z
  .object({
    store: StoreOption.optional(),
    projections: z.object({ connectionString: z.string().min(1) }).optional(),
    model: z.union([z.object({ provider: z.enum(['anthropic', 'offline', 'scripted']) }).loose(), z.custom<ModelProvider>((v) => typeof v === 'object' && v !== null && 'complete' in v)]).optional(),
    workspace: z.object({ repo: z.string().optional(), basePath: z.string().optional(), cleanup: z.enum(['on_completion', 'on_failure', 'never']).optional() }).optional(),
    maxConcurrentAgents: z.number().int().positive().max(100_000).optional(),
    defaultAgentTimeoutMs: z.number().int().positive().nullable().optional(),
    snapshotEvery: z.number().int().positive().optional(),
    maxTokensPerCall: z.number().int().positive().optional(),
    maxTurns: z.number().int().positive().optional(),
    allowCommands: z.boolean().optional(),
    /** Programs agents may run in their worktree when commands are allowed. */
    allowedCommands: z.array(z.string().min(1)).optional(),
    /** How long one agent command may run before it is killed (default 30 s). */
    commandTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
    schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/).optional(),
    recover: z.boolean().optional(),
    /**
     * Only read (the CLI's tree, status, history…). When another process holds the embedded
     * store's folder, reads go through that process instead of failing with `StoreLocked`;
     * nothing is migrated, recovered, projected or started, and writes are refused. An embedded
     * store's folder that holds no store yet is not created: `StoreNotFound`.
     */
    readOnly: z.boolean().optional(),
    /** Run the projection runner in this process (default true). */
    runProjections: z.boolean().optional(),
    /** Start messaging's delivery (outbox projector, sweeps) in this process (default true); sending and peeking still work, against tables another process keeps current. */
    runMessaging: z.boolean().optional(),
    /** A folder of user workflow templates (JSON), besides the built-ins. */
    templatesDir: z.string().min(1).optional(),
    /** Run as one of several workers sharing the store (leases per actor). */
    worker: z.object({ owner: z.string().min(1), leaseTtlMs: z.number().int().positive().optional(), tickMs: z.number().int().positive().optional(), capacity: z.number().int().nonnegative().optional() }).optional(),
    logger: z.custom<Logger>().optional(),
    clock: z.custom<Clock>().optional(),
    ids: z.custom<IdGenerator & { derive(ns: string, name: string): string }>().optional(),
    workspacePort: z.custom<WorkspacePort>().optional(),
    env: z.record(z.string(), z.string().optional()).optional(),
  })
  .strict();

/** A lease not renewed for this long is free for another process to take (a killed process's). */
const LEASE_TTL_MS = 5000;
/** How often a process renews its leases (and a claiming host looks for free actors). */
const LEASE_TICK_MS = 1000;

export type AgentSystemOptions = z.input<typeof SystemOptionsSchema>;

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
  spawn(config: SpawnConfig): Promise<AgentHandle>;
  get(agentId: string): AgentHandle;
  /** The agent's recorded events, oldest first; revisions and positions are numbers (JSON-safe). */
  history(agentId: string): Promise<HistoryEvent[]>;
  /** The agent's state as it was at `toRevision` (a number or a bigint; default: now). */
  replay(agentId: string, options?: { toRevision?: bigint | number }): Promise<AgentState>;
  /** Terminates any agent's subtree (an operator's kill switch). */
  terminate(agentId: string, reason?: string): Promise<void>;
  run(agentId: string): Promise<RunResult>;
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

export async function createAgentSystem(options: AgentSystemOptions = {}): Promise<AgentSystem> {
  const o = parseInput(SystemOptionsSchema, options, 'options');
  const env = readEnv(o.env ?? process.env);
  const schema = o.schema ?? 'cadre';
  const storeOpt = o.store ?? defaultStore(env);
  const givenModel = o.model && !('complete' in o.model) ? (o.model as { apiKey?: string; baseURL?: string }) : undefined;
  // Every secret cadre was configured with, removed by value from errors, events and logs.
  const redactor = createRedactor([
    env.ANTHROPIC_API_KEY, givenModel?.apiKey, env.CADRE_DASHBOARD_TOKEN,
    ...urlPassword(env.DATABASE_URL), ...urlPassword(env.EVENT_STORE), ...urlPassword(env.ANTHROPIC_BASE_URL), ...urlPassword(givenModel?.baseURL),
    ...urlPassword('connectionString' in storeOpt ? storeOpt.connectionString : undefined), ...urlPassword(o.projections?.connectionString),
  ]);
  const logger = redactingLogger(o.logger ?? createLogger(env.LOG_LEVEL ?? 'warn', undefined, redactor, env.LOG_FORMAT ?? 'json'), redactor);
  let store: EventStore;
  let sql: SqlClient;
  /** Another process holds the embedded store: this one only reads, through it. */
  let readThroughHolder = false;
  if (storeOpt.kind === 'eventstoredb') {
    // Events in EventStoreDB; runtime tables and projections in Postgres (DESIGN.md).
    const projectionsUrl = o.projections?.connectionString ?? env.DATABASE_URL;
    if (!projectionsUrl) throw new ConfigError('projections.connectionString', 'an EventStoreDB store needs Postgres for projections: set DATABASE_URL');
    store = await createEventStore({ kind: 'eventstoredb', connectionString: storeOpt.connectionString });
    sql = createPgClient({ connectionString: projectionsUrl, source: o.projections ? 'projections.connectionString' : 'DATABASE_URL' });
  } else {
    const pgStore: PostgresEventStore = storeOpt.kind === 'postgres'
      ? await createEventStore({ kind: 'postgres', connectionString: storeOpt.connectionString, schema, source: o.store ? 'store.connectionString' : 'DATABASE_URL', ...(o.readOnly === true ? { readOnly: true } : {}) })
      : await openEmbedded(storeOpt.dataDir ? resolve(storeOpt.dataDir) : undefined, schema, o.readOnly === true);
    readThroughHolder = isForwarded(pgStore);
    store = pgStore;
    sql = o.projections ? createPgClient({ connectionString: o.projections.connectionString, source: 'projections.connectionString' }) : pgStore.sql;
  }
  const ownsSql = !('sql' in store) || (store as PostgresEventStore).sql !== sql;
  if (!readThroughHolder) await migrateRuntime(sql, schema, { onlyIfBehind: o.readOnly === true });

  const repo = o.workspace?.repo ?? env.WORKSPACE_REPO ?? findGitRoot(process.cwd());
  const base = worktreeBase(o.workspace?.basePath ?? env.WORKSPACE_BASE_PATH);
  const cleanupPolicy = (o.workspace?.cleanup ?? env.WORKSPACE_CLEANUP_POLICY ?? 'on_completion') as CleanupPolicy;
  const workspaces = o.workspacePort ?? (repo
    ? createWorkspacePort({ repo: resolve(repo), ...(base.path ? { basePath: base.path } : {}), allowedCommands: o.allowedCommands ?? DEFAULT_ALLOWED_COMMANDS })
    : null);
  // Messaging and the runtime need each other: messaging writes events through the runtime,
  // the runtime's tools send through messaging. The runtime reference is bound just below.
  const runtimeRef: { current?: AgentRuntime } = {};
  const messaging: MessagingService = createMessaging({
    runtime: { execute: (id, decide) => runtimeRef.current!.execute(id, decide), state: (id) => runtimeRef.current!.state(id) },
    store,
    sql,
    schema,
    logger: logger as never,
    ids: o.ids ?? systemIds,
  });
  const model = redactingModel(o.model && 'complete' in o.model ? (o.model as ModelProvider) : createModelProvider(modelConfig(o.model as Record<string, unknown> | undefined, env), { logger: logger as never }), redactor);
  const allowCommands = o.allowCommands ?? (env.CADRE_ALLOW_COMMANDS === '1' || env.CADRE_ALLOW_COMMANDS === 'true');
  const runtime = new AgentRuntime({
    store,
    snapshots: createSnapshotStore(sql, schema),
    index: createActorIndex(sql, schema, { deferFlush: !ownsSql }),
    blobs: createBlobStore(sql, schema),
    model,
    workspaces,
    messages: messaging.port,
    clock: o.clock ?? systemClock,
    ids: o.ids ?? systemIds,
    logger,
    costOf: costOfWarningUnpriced((m) => logger.warn({ model: m }, `no price is known for model ${m}: its cost is shown as $0 (tokens are still counted and budgeted; docs/cli.md lists the priced models)`)),
    redact: (text) => redactor.text(text),
    config: {
      maxConcurrentAgents: o.maxConcurrentAgents ?? env.MAX_CONCURRENT_AGENTS ?? 16,
      defaultTimeoutMs: o.defaultAgentTimeoutMs !== undefined ? o.defaultAgentTimeoutMs : env.DEFAULT_AGENT_TIMEOUT ?? null,
      snapshotEvery: o.snapshotEvery ?? 50,
      maxTokensPerCall: o.maxTokensPerCall ?? 4096,
      defaultMaxTurns: o.maxTurns ?? 20,
      cleanupPolicy,
      allowCommands,
      commandTimeoutMs: o.commandTimeoutMs ?? 30_000,
      worktreeBase: base,
    },
  });
  runtimeRef.current = runtime;
  if (allowCommands && workspaces && env.ANTHROPIC_API_KEY && !env.ANTHROPIC_API_KEY_FILE) {
    // Deleting it from process.env would not help: /proc/<pid>/environ keeps the start-up copy.
    logger.warn({ allowCommands: true }, 'agent commands are on and ANTHROPIC_API_KEY is in this process\'s environment: any allowed program that runs code could read it from /proc; use ANTHROPIC_API_KEY_FILE, or run workers in a container or as another user (SECURITY.md)');
  }
  if (!readThroughHolder && o.runMessaging !== false) await messaging.start();
  const templates = await loadTemplates({ userDir: resolve(o.templatesDir ?? env.CADRE_TEMPLATES_DIR ?? '.cadre/templates'), logger: logger as never });
  const workflows = attachWorkflows(runtime, { templates, logger: logger as never, ...(o.ids ? { ids: o.ids } : {}) });
  const workflowsApi = createWorkflowsApi(workflows, model, messaging.handle);
  if (readThroughHolder || o.readOnly) {
    // Only looking: this process hosts no actor (a holder or a worker runs, recovers and projects).
  } else if (o.worker) {
    await runtime.startWorker({ owner: o.worker.owner, leaseTtlMs: o.worker.leaseTtlMs ?? LEASE_TTL_MS, tickMs: o.worker.tickMs ?? LEASE_TICK_MS, capacity: o.worker.capacity ?? 10_000 });
  } else {
    // Leases for everyone (docs/architecture.md, "Several workers"): a plain system hosts what it
    // creates or runs, never what another process holds, so a worker beside it cannot run the
    // same actor too. Recovering, it becomes a host that also takes over free actors.
    await runtime.startWorker({ owner: processOwnerName(), leaseTtlMs: LEASE_TTL_MS, tickMs: LEASE_TICK_MS, capacity: Number.MAX_SAFE_INTEGER, claimFree: false, isDead: isDeadLocalOwner });
    if (o.recover !== false) {
      await runtime.recover(workspaces && 'manager' in workspaces ? { beforeResume: (live) => reconcileWorktrees(live, workspaces as ReturnType<typeof createWorkspacePort>, cleanupPolicy, logger, (id) => outcomeOf(runtime, id)) } : {});
      await workflows.resume();
    }
  }

  const projections = new ProjectionRunner({ store, sql, schema, projections: defaultProjections(), logger, clock: o.clock ?? systemClock });
  if (o.runProjections !== false && !readThroughHolder) await projections.start();
  const reports = createReports({ sql, schema, runner: projections });

  const handle = (id: string): AgentHandle => new AgentHandle(id, runtime, messaging.handle);
  let closed = false;
  return {
    store,
    model,
    logger,
    schema,
    redactor,
    reports,
    projections,
    workflows: workflowsApi,
    messaging: messagingApi(messaging),
    workspaces: createWorkspaces(repo ? resolve(repo) : null, workspaces && 'manager' in workspaces ? (workspaces as ReturnType<typeof createWorkspacePort>).manager : null, { policy: cleanupPolicy, endOf: (id) => endOf(runtime, id) }),
    internal: { sql, runtime },
    spawnWorkflow: (request) => workflowsApi.spawnWorkflow(request),
    decompose: (task, options) => workflowsApi.spawnAuto({ task, ...options }),
    async spawn(config) {
      return handle(await runtime.spawnRoot(config));
    },
    get: handle,
    history: (id) => runtime.history(id),
    replay: async (id, opts = {}) => runtime.replay(id, opts.toRevision === undefined ? undefined : revisionArg(opts.toRevision, 'toRevision')),
    terminate: async (id, reason = 'terminated by operator') => runtime.terminateSubtree(id, parseTerminationReason(reason), null),
    run: (id) => runtime.run(id),
    async close() {
      if (closed) return;
      closed = true;
      await messaging.stop();
      await runtime.close();
      workspaces?.stop?.();
      await projections.stop();
      if (ownsSql) await sql.close();
      await store.close();
    },
  };
}

/**
 * Before recovery starts any effect: worktrees on disk made to agree with the streams. A process
 * killed mid `git worktree add` or mid-merge leaves a half-added or temporary worktree that no
 * event records; agents that recorded a worktree and are not yet settled keep theirs. Systems
 * whose live agents never asked for a worktree never touch git here.
 */
async function reconcileWorktrees(
  contexts: readonly AgentContext[],
  port: ReturnType<typeof createWorkspacePort>,
  policy: CleanupPolicy,
  logger: Logger,
  outcome: (agentId: string) => Promise<AgentOutcome | undefined>,
): Promise<void> {
  if (!contexts.some((c) => c.workspaceRequest !== null)) return;
  const live = new Map<string, { baseBranch?: string }>();
  for (const c of contexts) if (c.workspace && !c.workspaceRemoved) live.set(c.id, c.workspace.baseBranch ? { baseBranch: c.workspace.baseBranch } : {});
  // Git being unavailable must not stop the system from starting: agents' own workspace steps
  // retry, and the next start reconciles again.
  try {
    const manager = await port.manager();
    // An orphan (a worktree no live agent holds) is judged by how its agent ended, read from its
    // events, so a worktree the policy kept at the agent's end is kept at every start too.
    const outcomes = new Map<string, AgentOutcome>();
    for (const w of await manager.list()) {
      if (live.has(w.agentId)) continue;
      const o = await outcome(w.agentId);
      if (o) outcomes.set(w.agentId, o);
    }
    await manager.reconcile(live, policy, { outcomes });
  } catch (err) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'worktree reconciliation failed; continuing');
  }
}

/** How an agent ended, from its events; undefined if it has not ended or this store has no such agent. */
async function outcomeOf(runtime: AgentRuntime, agentId: string): Promise<AgentOutcome | undefined> {
  const end = await endOf(runtime, agentId);
  return end === 'live' || end === 'unknown' ? undefined : end;
}

/** `system.messaging`: the queue's operations, without the wiring and lifecycle the system owns. */
function messagingApi(m: MessagingService): Messaging {
  return { send: m.send, receive: m.receive, peek: m.peek, ack: m.ack, deadLetters: m.deadLetters, queueDepth: m.queueDepth };
}

/** How an agent stands, from its events: its outcome, `live` until it has one, `unknown` if this store has no such agent. */
async function endOf(runtime: AgentRuntime, agentId: string): Promise<AgentEnd> {
  const state = await runtime.state(agentId).catch((err: unknown) => (err instanceof NotFound ? null : Promise.reject(err)));
  if (!state) return 'unknown';
  const status = state.status;
  return status === 'completed' || status === 'failed' || status === 'terminated' ? status : 'live';
}

const forwarded = new WeakSet<PostgresEventStore>();
const isForwarded = (s: PostgresEventStore): boolean => forwarded.has(s);

/**
 * The embedded store in `dataDir`, locked to this process (storeFolderLock.ts). When another
 * process holds it, a reader goes through that process (and follows the store to its next
 * holder when that one exits, embeddedReader.ts); anyone else gets `StoreLocked`, which names
 * the folder, the holder and what to do.
 */
async function openEmbedded(dataDir: string | undefined, schema: string, readOnly: boolean): Promise<PostgresEventStore> {
  if (dataDir) {
    // Looking never creates a store (a new PGlite store takes seconds and leaves a .cadre/ in the
    // user's repository): a folder that holds none, and that nobody is creating, has nothing to read.
    if (readOnly && !existsSync(join(dataDir, 'PG_VERSION')) && !(await holderOf(dataDir))) throw new StoreNotFound(dataDir);
    mkdirSync(dataDir, { recursive: true });
  }
  try {
    return await createEventStore({ kind: 'pglite', schema, ...(dataDir ? { dataDir } : {}), ...(readOnly ? { brief: true } : {}) });
  } catch (err) {
    if (!(err instanceof StoreLocked) || !readOnly || !dataDir) throw err;
    const store = await openPostgresEventStore({ sql: await openEmbeddedReader(dataDir), ownsClient: true, schema, migrate: false });
    forwarded.add(store);
    return store;
  }
}

function defaultStore(env: Env): z.infer<typeof StoreOption> {
  if (env.EVENT_STORE && EVENTSTOREDB_URL.test(env.EVENT_STORE)) return { kind: 'eventstoredb', connectionString: env.EVENT_STORE };
  if (env.DATABASE_URL) return { kind: 'postgres', connectionString: env.DATABASE_URL };
  return { kind: 'pglite', dataDir: env.CADRE_DATA_DIR ?? '.cadre/db' };
}

/**
 * The model option, completed from the environment: an explicit option wins field by field, and
 * the environment fills what it leaves out (`{ provider: 'anthropic', maxTokens: 2000 }` takes
 * the key, base URL and model from ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL and CADRE_MODEL).
 */
function modelConfig(given: Record<string, unknown> | undefined, env: Env): Parameters<typeof createModelProvider>[0] {
  const fromEnv = {
    ...(env.ANTHROPIC_API_KEY ? { apiKey: env.ANTHROPIC_API_KEY } : {}),
    ...(env.CADRE_MODEL ? { model: env.CADRE_MODEL } : {}),
    ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
  };
  if (given) {
    const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
    return (given.provider === 'anthropic' ? { ...fromEnv, ...set } : given) as Parameters<typeof createModelProvider>[0];
  }
  if (env.ANTHROPIC_API_KEY) return { provider: 'anthropic', ...fromEnv } as Parameters<typeof createModelProvider>[0];
  return { provider: 'offline' };
}

/** The configured worktree folder, and a test for a caller's path naming it (relative to the working directory). */
function worktreeBase(configured: string | undefined): { path: string | null; accepts(path: string): boolean } {
  const path = configured ? resolve(configured) : null;
  return { path, accepts: (p) => path !== null && resolve(p) === path };
}
