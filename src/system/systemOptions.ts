import { z } from 'zod';
import type { Clock, IdGenerator, Logger } from '../actors/ports/runtimePorts.js';
import type { ModelProvider } from '../actors/ports/modelProvider.js';
import type { WorkspacePort } from '../actors/ports/workspacePort.js';
import { MAX_TIMEOUT_MS } from '../actors/maxTimeout.js';
import { isUserTool, type UserTool } from '../actors/userTool.js';
import { McpServersOption } from '../infra/mcp/mcpServerOptions.js';
import { OtlpSettingsSchema } from '../telemetry/otlp/otlpSettings.js';

/** Where the events live; the default comes from the environment (see openSystemStore). */
export const StoreOption = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('pglite'), dataDir: z.string().min(1).optional() }),
  z.object({ kind: z.literal('postgres'), connectionString: z.string().min(1) }),
  z.object({ kind: z.literal('eventstoredb'), connectionString: z.string().min(1) }),
]);

/**
 * Everything `createAgentSystem` can be told; unknown keys are refused (`.strict()`).
 *
 * @example
 * const options = parseInput(SystemOptionsSchema, { store: { kind: 'pglite' }, maxConcurrentAgents: 8 }, 'options');
 */
export const SystemOptionsSchema = z
  .object({
    store: StoreOption.optional(),
    projections: z.object({ connectionString: z.string().min(1) }).optional(),
    model: z.union([z.object({ provider: z.enum(['anthropic', 'offline', 'scripted']) }).loose(), z.custom<ModelProvider>((v) => typeof v === 'object' && v !== null && 'complete' in v)]).optional(),
    workspace: z.object({ repo: z.string().optional(), basePath: z.string().optional(), cleanup: z.enum(['on_completion', 'on_failure', 'never']).optional() }).optional(),
    maxConcurrentAgents: z.number().int().positive().max(100_000).optional(),
    defaultAgentTimeoutMs: z.number().int().positive().max(MAX_TIMEOUT_MS).nullable().optional(),
    snapshotEvery: z.number().int().positive().optional(),
    maxTokensPerCall: z.number().int().positive().optional(),
    maxTurns: z.number().int().positive().optional(),
    allowCommands: z.boolean().optional(),
    /** User tools (tool()) every agent of this system may call; register the same ones in every process that shares the store. */
    tools: z.array(z.custom<UserTool>(isUserTool, 'must be made with tool({ name, description, input, run })')).max(200).optional(),
    /**
     * MCP servers whose tools every root agent may call, as `<server>__<tool>`: `{ name, command,
     * args?, env?, cwd? }` (stdio) or `{ name, url, headers? }` (streamable HTTP). Started when
     * the system is created, closed by `close()`. Configuration of this process: events name the
     * tools, never the servers' env or headers.
     */
    mcpServers: McpServersOption.optional(),
    /** Programs agents may run in their worktree when commands are allowed. */
    allowedCommands: z.array(z.string().min(1)).optional(),
    /** How long one agent command may run before it is killed (default 30 s). */
    commandTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
    /** How long an agent whose user tools no process has registered waits for one before it fails (default 60 s). */
    /** `run_command` programs whose calls wait for a person's approval (they must be in allowedCommands too). */
    commandsNeedingApproval: z.array(z.string().min(1)).optional(),
    /** How long a call parked for approval waits before it is denied on its own (default: for ever; a tool's own approvalTimeoutMs wins). */
    approvalTimeoutMs: z.number().int().positive().max(365 * 24 * 3_600_000).optional(),
    missingToolTimeoutMs: z.number().int().positive().max(7 * 24 * 3_600_000).optional(),
    /**
     * Live export of spans over OTLP/HTTP (docs/tracing.md): `{ url, protocol?, headers?,
     * serviceName?, timeoutMs?, intervalMs? }`, or false for none. Default: from
     * OTEL_EXPORTER_OTLP_ENDPOINT and the other standard variables, none when unset.
     */
    otlp: z.union([z.literal(false), OtlpSettingsSchema]).optional(),
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
    /** Agents' worktrees through this port; `null`: none, even inside a git repository. */
    workspacePort: z.custom<WorkspacePort>().nullable().optional(),
    env: z.record(z.string(), z.string().optional()).optional(),
  })
  .strict();

/** What `createAgentSystem` accepts (validated with `SystemOptionsSchema`). */
export type AgentSystemOptions = z.input<typeof SystemOptionsSchema>;

/** The options once parsed (MCP servers with their transport named). */
export type ParsedSystemOptions = z.output<typeof SystemOptionsSchema>;
