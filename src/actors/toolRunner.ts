import { z } from 'zod';
import { isCadreError } from '../errors.js';
import type { AgentContext } from './agentContext.js';
import type { MessagePort, ReceivedMessage } from './ports/messagePort.js';
import type { WorkspacePort } from './ports/workspacePort.js';
import type { SpawnConfig } from './spawnConfig.js';
import type { RunResult } from './runtime.js';
import { checkStructuredOutput } from './structuredOutput.js';
import type { ToolRegistry } from './toolRegistry.js';

/**
 * How a child's work came into its parent's worktree at its end: merged, conflicted, or not
 * merged because the child did not complete (its work committed to its branch all the same).
 */
export interface ChildMerge {
  readonly status: 'merged' | 'conflict' | 'not_completed';
  readonly files: readonly string[];
  /** The child's branch, where its work stays. */
  readonly branch: string;
}

export interface ToolContext {
  readonly agentId: string;
  readonly context: AgentContext;
  readonly toolUseId: string;
  readonly workspaces: WorkspacePort | null;
  readonly messages: MessagePort | null;
  readonly allowCommands: boolean;
  readonly commandTimeoutMs: number;
  /** Applied to every result before it is recorded and shown to the model (a `cat` of a key file, an echoed error). */
  readonly redact?: (text: string) => string;
  /** The user tools this process can run; the agent may call those its context names. */
  readonly userTools?: ToolRegistry;
  /** The same for every run of this call (ToolRunContext.idempotencyKey). */
  readonly idempotencyKey: string;
  /** Aborted when the agent is terminated or the system closes. */
  readonly signal: AbortSignal;
  /** The child's result, with how its work came into this agent's worktree when both have one. */
  spawnAndWait(config: SpawnConfig): Promise<RunResult & { readonly merge?: ChildMerge }>;
  /** The root of `agentId`'s tree, or null for no such agent. */
  rootOf(agentId: string): Promise<string | null>;
  recordMessagesReceived(messages: readonly ReceivedMessage[]): Promise<void>;
}

export interface ToolResult {
  readonly output: string;
  readonly isError: boolean;
}

const MAX_TOOL_OUTPUT = 64_000;

// Strict, as the schemas the model is shown say (`additionalProperties: false`, tools.ts): a key
// no tool reads is a mistake the model should hear about (`path` misspelt `file` and a `dir`
// ignored, say), not a call run as if it were not there.
const inputs = {
  read_file: z.strictObject({ path: z.string().min(1) }),
  write_file: z.strictObject({ path: z.string().min(1), content: z.string().max(5_000_000) }),
  list_files: z.strictObject({ dir: z.string().optional() }),
  search_files: z.strictObject({ pattern: z.string().min(1).max(1000), glob: z.string().optional(), regex: z.boolean().optional() }),
  run_command: z.strictObject({ command: z.string().min(1), args: z.array(z.string()).max(100).default([]) }),
  spawn_agent: z.strictObject({ role: z.string().min(1), task: z.string(), budget: z.number().int().positive() }),
  send_message: z.strictObject({ to: z.string().min(1), payload: z.unknown(), priority: z.number().int().min(0).max(9).optional() }),
  receive_messages: z.strictObject({ max: z.number().int().min(1).max(100).optional() }),
  finish: z.strictObject({ output: z.string() }),
} as const;

/**
 * Runs one tool call for a model. Tool input comes from the model, so it is untrusted: it is
 * zod-parsed, and file access goes through the workspace, which refuses paths outside it.
 * Failures become error results the model can read, never exceptions that kill the agent.
 */
export async function runTool(name: string, rawInput: unknown, ctx: ToolContext): Promise<ToolResult> {
  const redact = ctx.redact ?? ((t: string) => t);
  if (name === 'finish') return pureToolResult(name, rawInput, redact, ctx.context.outputSchema)!;
  try {
    return succeeded(redact(await dispatch(name, rawInput, ctx)));
  } catch (err) {
    return failed(name, err, redact);
  }
}

/**
 * The result of a pure tool, one that only reads its input (no I/O, nothing outside changes,
 * so running it again gives the same result): today `finish`. Null for every other tool, which
 * must be recorded as called before it runs. A pure tool's call and result may be recorded in
 * the same append as the reply that asked for it.
 *
 * @example
 * pureToolResult('finish', { output: 'done' }); // { output: 'done', isError: false }
 */
export function pureToolResult(name: string, rawInput: unknown, redact: (text: string) => string = (t) => t, outputSchema: Readonly<Record<string, unknown>> | null = null): ToolResult | null {
  if (name !== 'finish') return null;
  try {
    return outputSchema ? structuredFinish(rawInput, outputSchema, redact) : succeeded(redact(inputs.finish.parse(rawInput).output));
  } catch (err) {
    return failed(name, err, redact);
  }
}

/**
 * A `finish` whose `output` must match the agent's schema: the value as JSON text, or an error
 * result naming what is wrong (the model gets one more try: agentDecisions' rejectedOutputEnd).
 * Never truncated: a cut JSON text would not parse for the caller.
 */
function structuredFinish(rawInput: unknown, schema: Readonly<Record<string, unknown>>, redact: (text: string) => string): ToolResult {
  const given = typeof rawInput === 'object' && rawInput !== null && 'output' in rawInput ? (rawInput as { output: unknown }).output : undefined;
  if (given === undefined) return { output: 'invalid input for finish: output: is required (a value that matches the output schema)', isError: true };
  const extra = Object.keys(rawInput as object).filter((k) => k !== 'output');
  if (extra.length > 0) return { output: redact(`invalid input for finish: input: unrecognized keys ${extra.map((k) => JSON.stringify(k)).join(', ')} (only output)`), isError: true };
  const checked = checkStructuredOutput(schema, given);
  if (!checked.ok) return { output: redact(`the output does not match its schema: ${checked.problems}`), isError: true };
  return { output: checked.text, isError: false };
}

const succeeded = (output: string): ToolResult => ({ output: output.length > MAX_TOOL_OUTPUT ? `${output.slice(0, MAX_TOOL_OUTPUT)}\n[truncated]` : output, isError: false });

function failed(name: string, err: unknown, redact: (text: string) => string): ToolResult {
  const message = err instanceof z.ZodError ? `invalid input for ${name}: ${err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}` : isCadreError(err) || err instanceof Error ? err.message : String(err);
  return { output: redact(message), isError: true };
}

async function dispatch(name: string, rawInput: unknown, ctx: ToolContext): Promise<string> {
  const files = () => {
    if (!ctx.workspaces || !ctx.context.workspace) throw new Error('this agent has no workspace');
    return ctx.workspaces.files(ctx.agentId, ctx.context.workspace.path);
  };
  switch (name) {
    case 'read_file':
      return files().read(inputs.read_file.parse(rawInput).path, { maxBytes: 1_000_000 });
    case 'write_file': {
      const i = inputs.write_file.parse(rawInput);
      await files().write(i.path, i.content);
      return `wrote ${Buffer.byteLength(i.content)} bytes to ${i.path}`;
    }
    case 'list_files':
      return (await files().list(inputs.list_files.parse(rawInput ?? {}).dir, { recursive: true, limit: 1000 })).join('\n');
    case 'search_files': {
      const i = inputs.search_files.parse(rawInput);
      const hits = await files().search(i.pattern, { ...(i.glob ? { glob: i.glob } : {}), ...(i.regex ? { regex: true } : {}), limit: 200 });
      return hits.map((h) => `${h.path}:${h.line}: ${h.text}`).join('\n') || 'no matches';
    }
    case 'run_command': {
      if (!ctx.allowCommands || !ctx.workspaces?.run) throw new Error('running commands is disabled for this system');
      if (!ctx.context.workspace) throw new Error('this agent has no workspace, so it has no run_command (spawn it with a workspace)');
      const i = inputs.run_command.parse(rawInput);
      const r = await ctx.workspaces.run(ctx.agentId, ctx.context.workspace.path, i.command, i.args, ctx.commandTimeoutMs);
      return `exit ${r.exitCode}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    }
    case 'spawn_agent': {
      const i = inputs.spawn_agent.parse(rawInput);
      const r = await ctx.spawnAndWait({ role: i.role, task: i.task, budget: i.budget });
      // A conflict left the child's work out of this worktree: said, or the model went on
      // believing it was there (a trial's: "completed", and the work silently missing).
      const named = (files: readonly string[]): string => (files.length > 20 ? `${files.slice(0, 20).join(', ')} and ${files.length - 20} more` : files.join(', '));
      // A child that did not complete is not merged; its work is on its branch, also said (a
      // trial's parent could not tell where a failed child's twenty files went).
      const merge = r.merge?.status === 'conflict'
        ? { merge: { status: 'conflict', note: `not merged into your worktree: ${r.merge.files.length > 0 ? `${named(r.merge.files)} conflicted with what is there` : 'the merge could not run'}; its work is on branch ${r.merge.branch}` } }
        : r.merge?.status === 'not_completed'
          ? { merge: { status: 'not_merged', note: `not merged into your worktree, as it did not complete; the work it had done is committed on branch ${r.merge.branch}` } }
          : r.merge ? { merge: { status: 'merged', files: r.merge.files.length } } : {};
      // Why it did not complete, too: `"output": null` alone left the parent's model guessing (a trial's).
      return JSON.stringify({ status: r.status, output: r.output, ...(r.status !== 'completed' && r.reason ? { reason: r.reason } : {}), tokensUsed: r.budgetConsumed, ...merge });
    }
    case 'send_message': {
      if (!ctx.messages) throw new Error('messaging is not available');
      const i = inputs.send_message.parse(rawInput);
      // A model writes only into its own tree (as a fork never writes into another): a prompt
      // injected in one team could otherwise steer any other by its ids (`git branch -a` lists
      // them all), an attacker's try. Code sends anywhere (agent.sendMessage). An id no agent has
      // gets the same answer, or the two answers would tell a model which ids live elsewhere.
      const root = await ctx.rootOf(i.to);
      if (root !== ctx.context.rootId) throw new Error(`${i.to} is not in your tree (the agents under ${ctx.context.rootId}): send_message reaches only those`);
      const { messageId } = await ctx.messages.send(ctx.agentId, i.to, i.payload, i.priority === undefined ? {} : { priority: i.priority });
      return `sent ${messageId} to ${i.to}`;
    }
    case 'receive_messages': {
      if (!ctx.messages) throw new Error('messaging is not available');
      const i = inputs.receive_messages.parse(rawInput ?? {});
      const got = await ctx.messages.receive(ctx.agentId, { max: i.max ?? 10, waitMs: 0 });
      if (got.length > 0) {
        await ctx.recordMessagesReceived(got);
        await ctx.messages.ack(ctx.agentId, got.map((m) => m.messageId));
      }
      return JSON.stringify(got.map((m) => ({ from: m.from, payload: m.payload, priority: m.priority })));
    }
    default:
      return runUserTool(name, rawInput, ctx);
  }
}

/** A user tool the agent may call: its input checked by its own schema, then run. */
async function runUserTool(name: string, rawInput: unknown, ctx: ToolContext): Promise<string> {
  const t = ctx.context.tools.includes(name) ? ctx.userTools?.get(name) : undefined;
  if (!t) {
    if (ctx.context.tools.includes(name)) throw new Error(`tool ${name} is not registered in this process`);
    throw new Error(`unknown tool ${name}`);
  }
  const input = t.input.parse(rawInput);
  const out = await t.run(input, {
    agentId: ctx.agentId,
    callId: ctx.toolUseId,
    idempotencyKey: ctx.idempotencyKey,
    workspacePath: ctx.context.workspace?.path ?? null,
    signal: ctx.signal,
  });
  return typeof out === 'string' ? out : out === undefined ? '' : JSON.stringify(out);
}
