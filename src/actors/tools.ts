import type { ModelToolSpec } from './ports/modelProvider.js';

/**
 * The tools an agent's model may call. Which ones are offered depends on what the agent has:
 * file tools only with a workspace, `run_command` only when the system allows it, messaging
 * only when a message queue is wired.
 */
export interface ToolAvailability {
  readonly workspace: boolean;
  readonly commands: boolean;
  readonly messages: boolean;
}

const obj = (properties: Record<string, unknown>, required: string[]): Record<string, unknown> => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

export const TOOL_SPECS: Record<string, ModelToolSpec> = {
  read_file: { name: 'read_file', description: 'Read a UTF-8 file in your workspace.', inputSchema: obj({ path: { type: 'string' } }, ['path']) },
  write_file: {
    name: 'write_file',
    description: 'Create or overwrite a file in your workspace.',
    inputSchema: obj({ path: { type: 'string' }, content: { type: 'string' } }, ['path', 'content']),
  },
  list_files: { name: 'list_files', description: 'List files in your workspace (recursively).', inputSchema: obj({ dir: { type: 'string' } }, []) },
  search_files: {
    name: 'search_files',
    description: 'Search your workspace files for a literal string, or an RE2 regular expression with regex: true.',
    inputSchema: obj({ pattern: { type: 'string' }, glob: { type: 'string' }, regex: { type: 'boolean' } }, ['pattern']),
  },
  run_command: {
    name: 'run_command',
    description: 'Run an allowed command in your workspace, with a time limit.',
    inputSchema: obj({ command: { type: 'string' }, args: { type: 'array', items: { type: 'string' } } }, ['command']),
  },
  spawn_agent: {
    name: 'spawn_agent',
    description: 'Spawn a subordinate agent with part of your budget; returns its result when it finishes.',
    inputSchema: obj({ role: { type: 'string' }, task: { type: 'string' }, budget: { type: 'integer', minimum: 1 } }, ['role', 'task', 'budget']),
  },
  send_message: {
    name: 'send_message',
    description: 'Send a JSON message to another agent.',
    inputSchema: obj({ to: { type: 'string' }, payload: {}, priority: { type: 'integer', minimum: 0, maximum: 9 } }, ['to', 'payload']),
  },
  receive_messages: {
    name: 'receive_messages',
    description: 'Receive pending messages addressed to you.',
    inputSchema: obj({ max: { type: 'integer', minimum: 1, maximum: 100 } }, []),
  },
  finish: {
    name: 'finish',
    description: 'Finish your task with a result.',
    inputSchema: obj({ output: { type: 'string' } }, ['output']),
  },
};

/**
 * The built-ins `a` allows, then the agent's user tools, then `finish`: with an output schema,
 * its `output` is that schema (a structured answer), not free text.
 */
export function toolsFor(a: ToolAvailability, user: readonly ModelToolSpec[] = [], outputSchema: Readonly<Record<string, unknown>> | null = null): ModelToolSpec[] {
  const names = ['spawn_agent'];
  if (a.workspace) names.unshift('read_file', 'write_file', 'list_files', 'search_files');
  if (a.workspace && a.commands) names.unshift('run_command');
  if (a.messages) names.push('send_message', 'receive_messages');
  return [...names.map((n) => TOOL_SPECS[n]!), ...user, outputSchema ? structuredFinish(outputSchema) : TOOL_SPECS.finish!];
}

function structuredFinish(schema: Readonly<Record<string, unknown>>): ModelToolSpec {
  return { name: 'finish', description: 'Finish your task with a result that matches the output schema.', inputSchema: obj({ output: schema }, ['output']) };
}
