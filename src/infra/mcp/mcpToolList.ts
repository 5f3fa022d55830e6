import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { z } from 'zod';
import type { Logger } from '../../actors/ports/runtimePorts.js';
import { ToolName } from '../../actors/userTool.js';

/** A tool as an MCP server lists it, checked. */
export interface ListedMcpTool {
  /** The server's own name for it (cadre shows it as `<server>__<name>`). */
  readonly name: string;
  readonly description: string | null;
  /** Its input's JSON Schema, as the server gave it (less `$schema`). */
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

/** More than this is a server gone wrong, not a toolbox (and would not fit a model's context). */
const MAX_TOOLS = 500;
const MAX_PAGES = 50;
const MAX_SCHEMA_CHARS = 100_000;

/** A listed tool; the server is untrusted, so only what cadre uses is read, and checked. */
const Listed = z.object({
  name: z.string().min(1).max(128),
  description: z.string().optional(),
  // MCP requires an object schema for a tool's input, as the Messages API does.
  inputSchema: z.object({ type: z.literal('object') }).loose(),
});
const Page = z.object({ tools: z.array(z.unknown()), nextCursor: z.string().optional() }).loose();

/**
 * Every tool the server lists (following its pages). A tool whose listing is malformed, whose
 * name could not be a model's tool name once namespaced, or whose schema is huge is left out
 * and logged: that is the server's fault, and its other tools still work.
 */
export async function listMcpTools(client: Client, server: string, log: Logger, timeoutMs: number): Promise<ListedMcpTool[]> {
  const tools: ListedMcpTool[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    // Asked with this module's lenient page schema, not `client.listTools`: the SDK checks every
    // listed tool strictly, so one malformed tool (a non-object inputSchema) failed the whole
    // server at start; here it is left out, and the server's other tools work.
    const answer = await client.request({ method: 'tools/list', params: cursor === undefined ? {} : { cursor } }, Page, { timeout: timeoutMs });
    for (const raw of answer.tools) {
      const skip = (why: string): void => log.warn({ tool: (raw as { name?: unknown })?.name }, `MCP server ${server}: a listed tool is left out: ${why}`);
      const t = Listed.safeParse(raw);
      if (!t.success) {
        skip(t.error.issues.map((i) => `${i.path.join('.') || 'tool'}: ${i.message}`).join('; '));
        continue;
      }
      if (!ToolName.safeParse(mcpToolName(server, t.data.name)).success) {
        skip(`${mcpToolName(server, t.data.name)} is not a valid tool name for the model (1-64 letters, digits, _ or -)`);
        continue;
      }
      const { $schema: _ignored, ...inputSchema } = t.data.inputSchema;
      if (JSON.stringify(inputSchema).length > MAX_SCHEMA_CHARS) {
        skip(`its input schema is over ${MAX_SCHEMA_CHARS} characters`);
        continue;
      }
      if (tools.length >= MAX_TOOLS) throw new Error(`it lists more than ${MAX_TOOLS} tools`);
      tools.push({ name: t.data.name, description: t.data.description?.trim() || null, inputSchema });
    }
    cursor = answer.nextCursor;
    if (!cursor) return tools;
  }
  throw new Error(`it lists tools over more than ${MAX_PAGES} pages`);
}

/**
 * What the model calls an MCP server's tool: `<server>__<tool>`. Server names have no `__`
 * and do not end in `_` (mcpServerOptions.ts), so the name says which server's tool it is.
 *
 * @example
 * mcpToolName('calc', 'add'); // 'calc__add'
 */
export const mcpToolName = (server: string, tool: string): string => `${server}__${tool}`;
