import { InvalidInput } from '../errors.js';
import { jsonSchemaOf } from './jsonSchemaOf.js';
import type { ModelToolSpec } from './ports/modelProvider.js';
import { TOOL_SPECS } from './tools.js';
import { isUserTool, type UserTool } from './userTool.js';

/**
 * A tool whose input is already described in JSON Schema (an MCP server's tool): the model is
 * shown that schema as given. Converting it to zod and back (z.fromJSONSchema, z.toJSONSchema)
 * could change what the model reads, so the registry keeps the given schema beside the tool
 * instead; the tool's own `input` then only does the checking its `run` needs.
 */
export interface DescribedTool {
  readonly tool: UserTool;
  readonly inputSchema: Readonly<Record<string, unknown>>;
  /** The option it came from, for errors (`mcpServers[0]`). */
  readonly field: string;
}

/**
 * The user tools this process can run, by name. Tools are code, so events name them and every
 * process that may host an agent must have its tools registered: one that lacks one leaves the
 * agent to a process that has it (src/actors/runtime/toolHosting.ts).
 */
export class ToolRegistry {
  private readonly byName = new Map<string, UserTool>();
  private readonly specs = new Map<string, ModelToolSpec>();
  /** What a root agent may call when its spawn names no tools: the system's own (createAgentSystem({ tools }), then its MCP servers' tools). */
  readonly systemNames: readonly string[];

  constructor(systemTools: readonly UserTool[] = [], described: readonly DescribedTool[] = []) {
    systemTools.forEach((t, i) => this.register(t, `tools[${i}]`));
    for (const d of described) {
      this.register(d.tool, d.field);
      this.specs.set(d.tool.name, { name: d.tool.name, description: d.tool.description, inputSchema: d.inputSchema });
    }
    this.systemNames = [...systemTools, ...described.map((d) => d.tool)].map((t) => t.name);
  }

  /**
   * Adds `t`; the same tool again is fine, another tool under a taken name is refused (the
   * name in an event must mean one thing in this process), as is a built-in's name.
   */
  register(t: UserTool, field = 'tools'): void {
    if (!isUserTool(t)) throw new InvalidInput(field, 'must be made with tool({ name, description, input, run })');
    if (TOOL_SPECS[t.name]) throw new InvalidInput(`${field}.name`, `${t.name} is a built-in tool's name`);
    const had = this.byName.get(t.name);
    if (had && had !== t) throw new InvalidInput(`${field}.name`, `another tool named ${t.name} is already registered in this system`);
    this.byName.set(t.name, t);
  }

  get(name: string): UserTool | undefined {
    return this.byName.get(name);
  }

  /** The names of `names` this process has no tool for. */
  missing(names: readonly string[]): string[] {
    return names.filter((n) => !this.byName.has(n));
  }

  /** What the model is shown for `name`: its description and the JSON Schema of its input (derived from zod unless given). */
  spec(name: string): ModelToolSpec {
    let s = this.specs.get(name);
    if (!s) {
      const t = this.byName.get(name);
      if (!t) throw new InvalidInput('tools', `no tool named ${name} is registered in this process`);
      s = { name, description: t.description, inputSchema: jsonSchemaOf(t.input) };
      this.specs.set(name, s);
    }
    return s;
  }
}
