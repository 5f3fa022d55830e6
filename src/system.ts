import type { LiveExport } from './telemetry/otlp/liveExport.js';
import { resolve } from 'node:path';
import { AgentRuntime } from './actors/runtime.js';
import type { z } from 'zod';
import { AgentHandle, type OutputOf } from './actors/agentHandle.js';
import { SpawnStartSchema, type SpawnConfig } from './actors/spawnConfig.js';
import { revisionArg } from './events/safeNumber.js';
import { committedHead } from './events/committedHead.js';
import { createActorIndex, createBlobStore, createSnapshotStore, migrateRuntime } from './infra/postgres/runtimeTables.js';
import { randomUUID } from 'node:crypto';
import { readEnv } from './infra/config.js';
import type { EventLogTable } from './projections/activityFeed.js';
import { otlpSettingsFromEnv, type OtlpSettings } from './telemetry/otlp/otlpSettings.js';
import { createLogger, redactingLogger } from './infra/logger.js';
import { createRedactor, urlPassword, type Redactor } from './infra/redact.js';
import { redactingModel } from './infra/model/redactingModel.js';
import { checkingModel } from './infra/model/checkingModel.js';
import { parseTerminationReason } from './actors/terminationReason.js';
import { ToolRegistry } from './actors/toolRegistry.js';
import { isDeadLocalOwner, processOwnerName, systemClock, systemIds } from './infra/ids.js';
import { createModelProvider } from './infra/model/createModelProvider.js';
import type { ModelProvider } from './actors/ports/modelProvider.js';
import { costOfWarningUnpriced } from './actors/pricing.js';
import { parseInput } from './validation.js';
import { InvalidInput } from './errors.js';
import { createMessaging, type Messaging, type MessagingService } from './messaging/index.js';
import { createWorkspacePort, DEFAULT_ALLOWED_COMMANDS } from './infra/workspace/workspacePort.js';
import { findGitRoot } from './infra/workspace/findGitRoot.js';
import { checkRepositoryFolder } from './infra/workspace/checkRepositoryFolder.js';
import { createWorkspaces } from './infra/workspace/workspaces.js';
import { attachWorkflows, createWorkflowsApi, loadTemplates, TemplateRegistry } from './workflows/index.js';
import { ProjectionRunner, createReports, defaultProjections } from './projections/index.js';
import type { CleanupPolicy } from './actors/cleanupPolicy.js';
import type { AgentSystem } from './system/agentSystem.js';
import { modelConfig } from './system/modelConfig.js';
import { defaultStore, openSystemStore } from './system/openSystemStore.js';
import { endOf, reconcileWorktrees } from './system/reconcileWorktrees.js';
import { SystemOptionsSchema, type AgentSystemOptions, type ParsedSystemOptions } from './system/systemOptions.js';
import { mcpSecrets } from './infra/mcp/mcpServerOptions.js';
import type { McpServers } from './infra/mcp/mcpServers.js';
import type { Logger } from './actors/ports/runtimePorts.js';

/** How long a closing process waits for the read models to apply its own last writes. */
const CLOSE_CATCH_UP_MS = 2_000;

export type { AgentSystem, SystemInternals } from './system/agentSystem.js';
export { SystemOptionsSchema, type AgentSystemOptions } from './system/systemOptions.js';

/** A lease not renewed for this long is free for another process to take (a killed process's). */
const LEASE_TTL_MS = 5000;
/** How often a process renews its leases (and a claiming host looks for free actors). */
const LEASE_TICK_MS = 1000;

/**
 * The composition root: builds the store, the runtime, messaging, workflows and projections
 * from the options (completed from the environment) and starts what this process runs. The
 * parts it wires live in ./system/: options, store opening, model config, worktree reconcile.
 *
 * @example
 * const system = await createAgentSystem({ store: { kind: 'postgres', connectionString: process.env.DATABASE_URL! } });
 * const agent = await system.spawn({ role: 'researcher', task: 'Summarise the repo', budget: 10_000 });
 * await system.close();
 */
export async function createAgentSystem(options: AgentSystemOptions = {}): Promise<AgentSystem> {
  const o = parseInput(SystemOptionsSchema, options, 'options');
  const env = readEnv(o.env ?? process.env);
  // Refused before anything is started or opened: a bad tool list leaves nothing behind (the
  // registry the runtime uses is built once the MCP servers' tools are known).
  new ToolRegistry(o.tools ?? []);
  const allowedCommands = o.allowedCommands ?? DEFAULT_ALLOWED_COMMANDS;
  // Approval gates an allowed program; it never lets a refused one through. With commands off it
  // would gate nothing: said, rather than a setting that silently does nothing.
  if (!commandsAllowed(o, env) && (o.commandsNeedingApproval?.length ?? 0) > 0) throw new InvalidInput('options.commandsNeedingApproval', 'has no effect while running commands is off: give allowCommands: true (or CADRE_ALLOW_COMMANDS=1) too');
  o.commandsNeedingApproval?.forEach((c, i) => {
    if (!allowedCommands.includes(c)) throw new InvalidInput(`options.commandsNeedingApproval[${i}]`, `${c} is not an allowed command (allowedCommands: ${allowedCommands.join(', ')})`);
  });
  const storeOpt = o.store ?? defaultStore(env);
  // Only a process that hosts agents exports: read below, and refused (gRPC) before anything opens.
  const otlp = o.readOnly || o.otlp === false ? null : o.otlp ?? otlpSettingsFromEnv(env);
  const givenModel = o.model && !('complete' in o.model) ? (o.model as { apiKey?: string; baseURL?: string }) : undefined;
  // Every secret cadre was configured with, removed by value from errors, events and logs.
  const redactor = createRedactor([
    env.ANTHROPIC_API_KEY, givenModel?.apiKey, env.CADRE_DASHBOARD_TOKEN,
    ...urlPassword(env.DATABASE_URL), ...urlPassword(env.EVENT_STORE), ...urlPassword(env.ANTHROPIC_BASE_URL), ...urlPassword(givenModel?.baseURL),
    ...urlPassword('connectionString' in storeOpt ? storeOpt.connectionString : undefined), ...urlPassword(o.projections?.connectionString),
    ...Object.values(otlp?.headers ?? {}), ...urlPassword(otlp?.url),
    ...mcpSecrets(o.mcpServers ?? []), ...(o.mcpServers ?? []).flatMap((s) => (s.kind === 'http' ? urlPassword(s.url) : [])),
  ]);
  const logger = redactingLogger(o.logger ?? createLogger(env.LOG_LEVEL ?? 'warn', undefined, redactor, env.LOG_FORMAT ?? 'json'), redactor);
  // Started first and once per process: their tools must be known before any agent is hosted
  // (a read-only system hosts none). Anything that fails after this closes them, or their
  // child processes would outlive the error.
  const servers = o.readOnly ? [] : o.mcpServers ?? [];
  // The MCP SDK (with its JSON Schema validator) loads only for a system that has servers: a
  // CLI command never does (scripts/bundleCli.mjs keeps it external).
  const mcp: McpServers = servers.length === 0 ? NO_MCP_SERVERS : await (await import('./infra/mcp/mcpServers.js')).startMcpServers(servers, { logger, redact: (text) => redactor.text(text) });
  try {
    return await assembleSystem({ o, env, storeOpt, redactor, logger, mcp, otlp });
  } catch (err) {
    await mcp.close();
    throw err;
  }
}

const NO_MCP_SERVERS: McpServers = { tools: [], close: async () => {} };

/** What createAgentSystem has settled before it builds the rest. */
interface Settled {
  readonly o: ParsedSystemOptions;
  readonly env: ReturnType<typeof readEnv>;
  readonly storeOpt: NonNullable<ParsedSystemOptions['store']>;
  readonly redactor: Redactor;
  readonly logger: Logger;
  readonly mcp: McpServers;
  readonly otlp: OtlpSettings | null;
}

async function assembleSystem({ o, env, storeOpt, redactor, logger, mcp, otlp }: Settled): Promise<AgentSystem> {
  const allowCommands = commandsAllowed(o, env);
  const schema = o.schema ?? 'cadre';
  // A read-only system spawns nothing, so it has no use for templates (reading and parsing them
  // was ~5-10 ms of every read command's start). Read before the store opens: a bad templates
  // folder refused after it left the store's connections open, and the CLI never exited.
  const templates = o.readOnly ? new TemplateRegistry() : await loadTemplates({
    userDir: resolve(o.templatesDir ?? env.CADRE_TEMPLATES_DIR ?? '.cadre/templates'),
    ...(o.templatesDir ? { userDirSetting: 'templatesDir' } : env.CADRE_TEMPLATES_DIR ? { userDirSetting: 'CADRE_TEMPLATES_DIR' } : {}),
    logger: logger as never,
  });
  // Before the store opens, as the templates are (a refusal after it left its connections open).
  const repoSetting = o.workspace?.repo !== undefined ? 'workspace.repo' : env.WORKSPACE_REPO !== undefined ? 'WORKSPACE_REPO' : null;
  if (repoSetting && !o.readOnly && o.workspacePort === undefined) checkRepositoryFolder((o.workspace?.repo ?? env.WORKSPACE_REPO)!, repoSetting);
  const { store, sql, readThroughHolder, ownsSql, eventLog } = await openSystemStore(storeOpt, o, env, schema);
  if (!readThroughHolder) await migrateRuntime(sql, schema, { onlyIfBehind: o.readOnly === true });

  const repo = o.workspace?.repo ?? env.WORKSPACE_REPO ?? findGitRoot(process.cwd());
  const base = worktreeBase(o.workspace?.basePath ?? env.WORKSPACE_BASE_PATH);
  const cleanupPolicy = (o.workspace?.cleanup ?? env.WORKSPACE_CLEANUP_POLICY ?? 'on_completion') as CleanupPolicy;
  const workspaces = o.workspacePort !== undefined ? o.workspacePort : (repo
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
    clock: o.clock ?? systemClock,
  });
  const model = redactingModel(checkingModel(o.model && 'complete' in o.model ? (o.model as ModelProvider) : createModelProvider(modelConfig(o.model as Record<string, unknown> | undefined, env), { logger: logger as never })), redactor);
  const tools = new ToolRegistry(o.tools ?? [], mcp.tools);
  const runtime = new AgentRuntime({
    store,
    snapshots: createSnapshotStore(sql, schema),
    index: createActorIndex(sql, schema, { sameDatabaseAsEvents: !ownsSql }),
    blobs: createBlobStore(sql, schema),
    model,
    workspaces,
    messages: messaging.port,
    tools,
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
      systemTools: tools.systemNames,
      cleanupPolicy,
      allowCommands,
      commandTimeoutMs: o.commandTimeoutMs ?? 30_000,
      ...(o.missingToolTimeoutMs ? { missingToolTimeoutMs: o.missingToolTimeoutMs } : {}),
      ...(o.commandsNeedingApproval ? { commandsNeedingApproval: o.commandsNeedingApproval } : {}),
      ...(o.approvalTimeoutMs ? { approvalTimeoutMs: o.approvalTimeoutMs } : {}),
      worktreeBase: base,
    },
  });
  runtimeRef.current = runtime;
  if (allowCommands && workspaces && env.ANTHROPIC_API_KEY && !env.ANTHROPIC_API_KEY_FILE) {
    // Deleting it from process.env would not help: /proc/<pid>/environ keeps the start-up copy.
    logger.warn({ allowCommands: true }, 'agent commands are on and ANTHROPIC_API_KEY is in this process\'s environment: any allowed program that runs code could read it from /proc; use ANTHROPIC_API_KEY_FILE, or run workers in a container or as another user (SECURITY.md)');
  }
  const projections = new ProjectionRunner({ store, sql, schema, projections: defaultProjections(), logger, clock: o.clock ?? systemClock });
  let liveExport: LiveExport | null = null;
  let closed = false;
  /** Stops what this system started, in order; what was not started stops as a no-op. */
  const shutDown = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await messaging.stop();
    await runtime.close();
    // After the runtime: its close aborts the tool calls still running, which may be MCP calls.
    await mcp.close();
    workspaces?.stop?.();
    // After the runtime: the spans its agents ended while closing go out too.
    await liveExport?.stop();
    // Its own last writes reach the read models before it goes, for a moment at most: four
    // `cadre run` at once on one database exited with a root's completion not yet applied, and
    // no process was left to apply it (a CI run's read of the agents table found 3 of 4).
    if (projections.running) await committedHead(store).then((head) => projections.waitFor(head, CLOSE_CATCH_UP_MS)).catch(() => undefined);
    await projections.stop();
    if (ownsSql) await sql.close();
    await store.close();
  };
  // A start that fails half way (a read model's tables being created by another process, say)
  // closes what it had opened: four `cadre run` on one new database printed their error and then
  // hung for good, their lease ticks and subscriptions still running (a new user's try).
  const workflows = attachWorkflows(runtime, { templates, logger: logger as never, ...(o.ids ? { ids: o.ids } : {}) });
  const workflowsApi = createWorkflowsApi(workflows, model, messaging.handle);
  try {
    if (!readThroughHolder && o.runMessaging !== false) await messaging.start();
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
        await runtime.recover(workspaces && 'manager' in workspaces ? { beforeResume: (live) => reconcileWorktrees(live, workspaces as ReturnType<typeof createWorkspacePort>, cleanupPolicy, logger, (id) => endOf(runtime, id)) } : {});
        await workflows.resume();
      }
    }
    if (o.runProjections !== false && !readThroughHolder) await projections.start();
    // The OTLP packages load only in a process that exports (scripts/bundleCli.mjs keeps them external).
    liveExport = otlp && !readThroughHolder
      ? await (await import('./telemetry/otlp/liveExport.js')).startLiveExport({ store, sql, schema, settings: otlp, owner: `${processOwnerName()}/${randomUUID().slice(0, 8)}`, history: (id) => runtime.history(id), logger, ...(eventLog ? { writtenHead: () => writtenHead(eventLog) } : {}) })
      : null;
  } catch (err) {
    await shutDown().catch((closing: unknown) => logger.warn({ err: closing }, 'closing after a failed start'));
    throw err;
  }
  const reports = createReports({ sql, schema, runner: projections, events: eventLog ?? { store }, committedHead: () => committedHead(store) });

  const handle = <O = string>(id: string, output: z.ZodType<O> | null = null): AgentHandle<O> => new AgentHandle<O>(id, runtime, messaging.handle, output);
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
    workspaces: createWorkspaces(repo && o.workspacePort !== null ? resolve(repo) : null, workspaces && 'manager' in workspaces ? (workspaces as ReturnType<typeof createWorkspacePort>).manager : null, { policy: cleanupPolicy, endOf: (id) => endOf(runtime, id) }),
    internal: { sql, runtime },
    spawnWorkflow: (request) => workflowsApi.spawnWorkflow(request),
    decompose: (task, options) => workflowsApi.spawnAuto({ task, ...options }),
    async spawn<S extends z.ZodType | undefined = undefined>(config: SpawnConfig & { output?: S }, options: { start?: boolean } = {}) {
      const start = parseInput(SpawnStartSchema, options, 'options').start ?? false;
      return handle<OutputOf<S>>(await runtime.spawnRoot(config, {}, [], { start }), (config.output ?? null) as z.ZodType<OutputOf<S>> | null);
    },
    fork: async (id, options) => handle<string>(await runtime.fork(id, options), null),
    get: <O = string>(id: string, options: { output?: z.ZodType<O> } = {}) => handle<O>(id, options.output ?? null),
    history: (id) => runtime.history(id),
    events: (options) => runtime.allEvents(options),
    replay: async (id, opts = {}) => runtime.replay(id, opts.toRevision === undefined ? undefined : revisionArg(opts.toRevision, 'toRevision')),
    terminate: async (id, reason = 'terminated by operator') => runtime.terminateSubtree(id, parseTerminationReason(reason), null),
    run: (id, options) => handle(id).run(options),
    close: shutDown,
  };
}

/** The newest position in the events table, committed or about to be visible (the live export's flush target). */
async function writtenHead(log: EventLogTable): Promise<bigint> {
  const r = await log.sql.query<{ p: string }>(`SELECT coalesce(max(position), 0)::text AS p FROM ${log.schema}.events`);
  return BigInt(r.rows[0]?.p ?? '0');
}

/** `system.messaging`: the queue's operations, without the wiring and lifecycle the system owns. */
/** Whether agents may run programs: the option, else CADRE_ALLOW_COMMANDS. */
function commandsAllowed(o: { allowCommands?: boolean | undefined }, env: { CADRE_ALLOW_COMMANDS?: string | undefined }): boolean {
  return o.allowCommands ?? (env.CADRE_ALLOW_COMMANDS === '1' || env.CADRE_ALLOW_COMMANDS === 'true');
}

function messagingApi(m: MessagingService): Messaging {
  return { send: m.send, receive: m.receive, peek: m.peek, ack: m.ack, deadLetters: m.deadLetters, queueDepth: m.queueDepth };
}

/** The configured worktree folder, and a test for a caller's path naming it (relative to the working directory). */
function worktreeBase(configured: string | undefined): { path: string | null; accepts(path: string): boolean } {
  const path = configured ? resolve(configured) : null;
  return { path, accepts: (p) => path !== null && resolve(p) === path };
}
