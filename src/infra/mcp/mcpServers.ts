import { z } from 'zod';
import type { Logger } from '../../actors/ports/runtimePorts.js';
import type { DescribedTool } from '../../actors/toolRegistry.js';
import { tool } from '../../actors/userTool.js';
import { connectMcpServer, type McpConnection } from './mcpConnection.js';
import type { McpServerConfig } from './mcpServerOptions.js';
import { mcpToolName } from './mcpToolList.js';

/** The MCP servers this process started, as tools for its registry. */
export interface McpServers {
  /** Every server's tools, named `<server>__<tool>`, in the order of the servers. */
  readonly tools: readonly DescribedTool[];
  /** Closes every server (stdio children end); safe to call twice. */
  close(): Promise<void>;
}

export interface StartMcpServersOptions {
  readonly logger: Logger;
  readonly redact: (text: string) => string;
  /** Default 30 s per server. */
  readonly startTimeoutMs?: number;
}

const DEFAULT_START_TIMEOUT_MS = 30_000;

/**
 * An MCP tool's arguments: a JSON object, which is all MCP asks of them. The server checks them
 * against its own schema and answers an error the model reads; cadre does not check them again
 * with a zod schema rebuilt from that JSON Schema, which could disagree with the server (a
 * keyword z.fromJSONSchema reads differently or not at all) and would only add a second opinion.
 */
const McpArguments = z.record(z.string(), z.unknown());

/**
 * Starts the servers (in parallel) and makes each listed tool a user tool: shown to the model
 * with the server's own JSON Schema, run by a call to the server. One that fails to start makes
 * this reject with `McpServerFailed` naming it, after closing the others.
 *
 * @example
 * const mcp = await startMcpServers([{ kind: 'stdio', name: 'calc', command: 'node', args: ['calc.mjs'], env: {} }], { logger, redact });
 * new ToolRegistry(userTools, mcp.tools); // calc__add, … join the system's tools
 * await mcp.close();
 */
export async function startMcpServers(configs: readonly McpServerConfig[], options: StartMcpServersOptions): Promise<McpServers> {
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const started = await Promise.allSettled(configs.map((c) => connectMcpServer(c, { logger: options.logger, redact: options.redact, startTimeoutMs })));
  const connections = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => (closed ??= Promise.all(connections.map((c) => c.close())).then(() => {}));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  return { tools: connections.flatMap((c, i) => toolsOf(c, `mcpServers[${i}]`, options.redact)), close };
}

/**
 * A server's tools as user tools: their input is only checked to be an object; the server checks the
 * rest. A description goes to the model and into its recorded request: redacted (a server may quote
 * its own env).
 */
function toolsOf(connection: McpConnection, field: string, redact: (text: string) => string): DescribedTool[] {
  return connection.tools.map((listed) => ({
    field,
    inputSchema: listed.inputSchema,
    tool: tool({
      name: mcpToolName(connection.server, listed.name),
      description: redact((listed.description ?? `The tool ${listed.name} of the MCP server ${connection.server}.`).slice(0, 10_000)),
      input: McpArguments,
      async run(args, ctx) {
        const outcome = await connection.call(listed.name, args, ctx.signal);
        // A thrown error is what the runner records as an error result the model reads.
        if (outcome.isError) throw new Error(outcome.text || `${listed.name} failed (the MCP server gave no reason)`);
        return outcome.text;
      },
    }),
  }));
}
