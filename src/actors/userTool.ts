import { z } from 'zod';
import { parseInput } from '../validation.js';

/** What a user tool's `run` is given besides its input. */
export interface ToolRunContext {
  /** The agent whose model called the tool. */
  readonly agentId: string;
  /** The model's id for this call (`toolu_…`): the same when a crash makes the call run again. */
  readonly callId: string;
  /**
   * The same for every run of this one call, and different for any other call: a tool that
   * changes the world outside (a payment, a ticket) passes it on so a re-run after a crash is
   * deduplicated there. cadre records one result per call, but cannot know whether a process
   * that died mid-call had already done the work.
   */
  readonly idempotencyKey: string;
  /** The agent's git worktree, or null when it has none. */
  readonly workspacePath: string | null;
  /** Aborted when the agent is terminated or the system closes while the tool runs. */
  readonly signal: AbortSignal;
}

/** A tool of the user's: code, registered by name in every process that may run its agents. */
export interface UserTool<I = unknown> {
  readonly name: string;
  readonly description: string;
  /** Validates the model's input before `run`; its JSON Schema is what the model is shown. */
  readonly input: z.ZodType<I>;
  /**
   * Its result: a string as is, anything else as JSON. A throw is an error result the model reads.
   * (Method syntax: a tool of any input type is then a `UserTool` in a list of tools.)
   */
  run(input: I, ctx: ToolRunContext): Promise<unknown> | unknown;
  /** Calls wait for a person's `approve(callId)` or `deny(callId, reason)` first (always, or when true for the input). */
  readonly needsApproval?: boolean | InputPredicate<I>;
  /** A call nobody answers within this time is denied, "approval timed out" (default: the system's, else never). */
  readonly approvalTimeoutMs?: number;
}

/** `(input) => boolean`, accepted where any input type is (method-style: bivariant). */
type InputPredicate<I> = { check(input: I): boolean }['check'];

const USER_TOOL = Symbol.for('cadre.userTool');

/** A model may call tools named like this (the Messages API's rule for tool names). */
export const ToolName = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

const ToolDefinition = z.object({
  name: ToolName,
  description: z.string().trim().min(1, 'is required').max(10_000),
  input: z.custom<z.ZodType>((v) => v instanceof z.ZodType, 'must be a zod schema'),
  run: z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function'),
  needsApproval: z.union([z.boolean(), z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function')]).optional(),
  approvalTimeoutMs: z.number().int().positive().max(365 * 24 * 3_600_000).optional(),
});

/**
 * Defines a tool an agent's model may call. Give it to `createAgentSystem({ tools })` (every
 * agent may call it) or `spawn({ tools })` (that agent and its subtree).
 *
 * @example
 * const weather = tool({
 *   name: 'get_weather',
 *   description: 'The weather in a city today.',
 *   input: z.object({ city: z.string() }),
 *   run: async ({ city }, ctx) => fetchWeather(city, { signal: ctx.signal }),
 * });
 */
export function tool<I>(definition: UserTool<I>): UserTool<I> {
  parseInput(ToolDefinition, definition, 'tool');
  return Object.freeze({ ...definition, [USER_TOOL]: true }) as UserTool<I>;
}

/** Whether `v` was made by `tool()`. */
export const isUserTool = (v: unknown): v is UserTool => typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[USER_TOOL] === true;
