import { z } from 'zod';

/** An MCP server cadre starts as a child process and talks to over stdin/stdout. */
export interface StdioMcpServerOption {
  /** Prefixes its tools' names: `<name>__<tool>`. */
  readonly name: string;
  readonly command: string;
  readonly args?: readonly string[];
  /**
   * Added to the child's environment (which otherwise holds only HOME, LOGNAME, PATH, SHELL,
   * TERM and USER, never this process's secrets). The values are treated as secrets: redacted
   * from everything cadre stores and logs.
   */
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
}

/** An MCP server cadre reaches over streamable HTTP. */
export interface HttpMcpServerOption {
  readonly name: string;
  readonly url: string;
  /** Sent with every request (an `Authorization` header, say); the values are treated as secrets. */
  readonly headers?: Readonly<Record<string, string>>;
}

export type McpServerOption = StdioMcpServerOption | HttpMcpServerOption;

/** A server option once parsed, with its transport named. */
export type McpServerConfig =
  | { readonly kind: 'stdio'; readonly name: string; readonly command: string; readonly args: readonly string[]; readonly env: Readonly<Record<string, string>>; readonly cwd?: string }
  | { readonly kind: 'http'; readonly name: string; readonly url: string; readonly headers: Readonly<Record<string, string>> };

/** The Messages API's limit on a tool name, which `<server>__<tool>` must fit with a tool name of at least one character. */
const MAX_TOOL_NAME = 64;
export const MAX_SERVER_NAME = MAX_TOOL_NAME - '__'.length - 1;

/**
 * A server's name: letters, digits, `-` and single `_`s inside, so that `<server>__<tool>` is
 * a valid tool name and names one server (with `a_` or `a__b` allowed, `a___b` could be
 * server `a_`'s tool `b` or server `a`'s tool `_b`).
 */
const ServerName = z
  .string()
  .min(1, 'is required')
  .max(MAX_SERVER_NAME, `must be at most ${MAX_SERVER_NAME} characters: its tools are named <server>__<tool>, at most ${MAX_TOOL_NAME} characters`)
  .regex(/^[a-zA-Z0-9-]+(?:_[a-zA-Z0-9-]+)*$/, 'must be letters, digits, - and single _ between them (its tools are named <server>__<tool>)');

const STDIO_ONLY = ['command', 'args', 'env', 'cwd'] as const;
const HTTP_ONLY = ['url', 'headers'] as const;

const ServerFields = z
  .object({
    name: ServerName,
    command: z.string().min(1, 'is required').optional(),
    args: z.array(z.string()).max(1000).optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    headers: z.record(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name'), z.string()).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    // One transport per server, named by which of command and url is given; the other's fields are refused by name.
    if ((s.command === undefined) === (s.url === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'give either command (a stdio server) or url (a streamable HTTP server)' });
      return;
    }
    const [given, refused, kind] = s.command !== undefined ? [STDIO_ONLY, HTTP_ONLY, 'a stdio server (with command)'] : [HTTP_ONLY, STDIO_ONLY, 'an HTTP server (with url)'];
    for (const key of refused) if (s[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `is not an option of ${kind}: it takes ${given.join(', ')}` });
  })
  .transform((s): McpServerConfig =>
    s.url !== undefined
      ? { kind: 'http', name: s.name, url: s.url, headers: s.headers ?? {} }
      : { kind: 'stdio', name: s.name, command: s.command!, args: s.args ?? [], env: s.env ?? {}, ...(s.cwd ? { cwd: s.cwd } : {}) },
  );

/**
 * `createAgentSystem({ mcpServers })`: unique names, one transport each, unknown keys refused.
 * Typed by the two option shapes, so a caller's editor knows which fields go together.
 *
 * @example
 * parseInput(McpServersOption, [{ name: 'calc', command: 'node', args: ['calc.mjs'] }], 'mcpServers');
 */
export const McpServersOption = z
  .array(ServerFields)
  .max(50)
  .superRefine((servers, ctx) => {
    const seen = new Set<string>();
    servers.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `another MCP server is named ${s.name}` });
      seen.add(s.name);
    });
  }) as unknown as z.ZodType<McpServerConfig[], readonly McpServerOption[]>;

/**
 * The values of the servers' environments and headers: process configuration, never data. They
 * are handed to the redactor, so one a server echoes (or an error quotes) is not stored or logged.
 */
export const mcpSecrets = (servers: readonly McpServerConfig[]): string[] =>
  servers.flatMap((s) => Object.values(s.kind === 'stdio' ? s.env : s.headers));
