import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Logger } from '../../actors/ports/runtimePorts.js';
import { McpServerFailed } from '../../errors.js';
import { mcpToolOutcome, type McpToolOutcome } from './mcpResult.js';
import type { McpServerConfig } from './mcpServerOptions.js';
import { listMcpTools, type ListedMcpTool } from './mcpToolList.js';

/** One started MCP server: its tools, listed once at start, and calls to them. */
export interface McpConnection {
  readonly server: string;
  readonly tools: readonly ListedMcpTool[];
  /** Calls the server's tool `tool` (its own name, not namespaced); an error or a thrown call is an error outcome. */
  call(tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<McpToolOutcome>;
  /** Ends the session; a stdio server's child process is ended (stdin closed, then SIGTERM, then SIGKILL). */
  close(): Promise<void>;
}

export interface McpConnectOptions {
  readonly logger: Logger;
  /** Applied to every text that leaves here: an error may quote the server's output or URL. */
  readonly redact: (text: string) => string;
  /** How long the start (spawn or connect, initialize, list tools) may take. */
  readonly startTimeoutMs: number;
}

/** How much of a stdio server's stderr is kept to explain a failed start. */
const STDERR_TAIL = 2000;

/**
 * Starts (stdio) or connects to (HTTP) one server and lists its tools. Throws `McpServerFailed`
 * naming the server, after ending what it started.
 *
 * @example
 * const calc = await connectMcpServer({ kind: 'stdio', name: 'calc', command: 'node', args: ['calc.mjs'], env: {} }, { logger, redact, startTimeoutMs: 30_000 });
 * await calc.call('add', { a: 2, b: 3 }, AbortSignal.timeout(10_000)); // { text: '5', isError: false }
 */
export async function connectMcpServer(config: McpServerConfig, options: McpConnectOptions): Promise<McpConnection> {
  const log = options.logger.child({ mcpServer: config.name });
  const { transport, stderrTail } = transportFor(config, log);
  const client = new Client({ name: 'cadre', version: '1' });
  let closing = false;
  const close = async (): Promise<void> => {
    closing = true;
    await client.close().catch(() => {});
  };
  try {
    await client.connect(transport, { timeout: options.startTimeoutMs });
    const tools = await listMcpTools(client, config.name, log, options.startTimeoutMs);
    const pid = transport instanceof StdioClientTransport ? transport.pid : null;
    log.info({ transport: config.kind, ...(pid ? { pid } : {}), tools: tools.map((t) => t.name) }, `MCP server ${config.name} started with ${tools.length} tool(s)`);
    client.onclose = () => {
      if (!closing) log.warn({ transport: config.kind }, `MCP server ${config.name} closed the connection: its tools answer with an error until this process restarts`);
    };
    return {
      server: config.name,
      tools,
      async call(tool, args, signal) {
        try {
          return mcpToolOutcome(await client.callTool({ name: tool, arguments: args }, undefined, { signal }));
        } catch (err) {
          return { text: options.redact(`MCP server ${config.name} failed the call: ${err instanceof Error ? err.message : String(err)}`), isError: true };
        }
      },
      close,
    };
  } catch (err) {
    await close();
    const why = err instanceof Error ? err.message : String(err);
    const stderr = stderrTail().trim();
    throw new McpServerFailed(config.name, options.redact(stderr ? `${why} (its stderr ends: ${stderr})` : why));
  }
}

/** The SDK transport for a server, and what its stderr said last (stdio). */
function transportFor(config: McpServerConfig, log: Logger): { transport: Transport; stderrTail: () => string } {
  if (config.kind === 'http') {
    return { transport: new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: { ...config.headers } } }), stderrTail: () => '' };
  }
  // The child's environment is the SDK's short safe list (HOME, PATH, …) plus the server's own
  // env: never this process's, which may hold the API key.
  const transport = new StdioClientTransport({ command: config.command, args: [...config.args], env: { ...config.env }, ...(config.cwd ? { cwd: config.cwd } : {}), stderr: 'pipe' });
  let tail = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-STDERR_TAIL);
    log.debug({ stderr: text.slice(0, STDERR_TAIL) }, 'MCP server stderr');
  });
  return { transport, stderrTail: () => tail };
}
