import { z } from 'zod';
import type { ModelReply } from '../../actors/ports/modelProvider.js';

/**
 * The most tokens one count of one call's usage may report: 10^9, hundreds of times the largest
 * context window any model has. A bound of 2^53 - 1 per count let two valid counts add up past
 * it: the settlement and the overspend were stored with a sum no reader accepts, and the agent's
 * history, its budget, its parent's (whose reclaim carried it) and the dashboard's run list
 * stopped opening (found by a hostile-model try). At 10^9 a call's four counts add up to at most
 * 4 * 10^9, and since an overspend ends the agent, a subtree's sums stay exact for millions of
 * agents.
 */
export const MAX_REPORTED_TOKENS = 1_000_000_000;

/**
 * The most tool calls one reply may make. Models make a handful at once; a hostile or broken
 * server's 20,000 in one reply held the process for over ten minutes (recording each call grows
 * with the calls before it), deaf to SIGTERM and to every reader of its store.
 */
export const MAX_TOOL_CALLS_PER_REPLY = 100;

/**
 * How deeply a tool call's input may nest. A server's input nested 3,500 deep overflowed the
 * stack of the JSON handling after it (redaction, storage): the call failed as an error and was
 * charged nothing, whatever usage it reported. Tool inputs are a few levels deep.
 */
export const MAX_TOOL_INPUT_DEPTH = 100;

/**
 * The longest tool call id, tool name and model name a reply may give. The API's are a few dozen
 * characters (`toolu_01…`, names of at most 64); none is counted in the output tokens a reply is
 * checked against, so a 1.9 MB id was stored whole for 1 token (ten children's filled 35 MB, a
 * hostile-model try).
 */
export const MAX_REPLY_NAME_LENGTH = 256;

/** Whether `value` nests no deeper than `max` arrays and objects (walked without recursion). */
function nestsWithin(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return false;
    for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push([x, depth + 1]);
  }
  return true;
}

/** A token count: a whole number from 0 to MAX_REPORTED_TOKENS (NaN, fractions, strings and negatives are refused). */
const count = z.number().int().nonnegative().max(MAX_REPORTED_TOKENS, `must be at most ${MAX_REPORTED_TOKENS.toLocaleString('en-US')} tokens for one call`);

/** zod schema of the port's `ModelUsage`. */
export const ModelUsageSchema = z.strictObject({
  inputTokens: count,
  outputTokens: count,
  cacheReadTokens: count,
  cacheCreationTokens: count,
});

/**
 * zod schema of the port's `ModelReply`: a reply that came from outside the type system (the
 * Messages API, a test script, a recorded fixture) is parsed before the agent loop trusts it.
 * Its usage is charged to budgets, so a negative or non-numeric count would hand out tokens.
 *
 * @example
 * const reply = parseInput(ModelReplySchema, untrusted, 'reply');
 */
const name = z.string().min(1).max(MAX_REPLY_NAME_LENGTH, `must be at most ${MAX_REPLY_NAME_LENGTH} characters`);

export const ModelReplySchema = z.strictObject({
  model: name,
  content: z.array(
    z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('text'), text: z.string() }),
      z.strictObject({
        type: z.literal('tool_use'),
        id: name,
        name,
        // A call with no input is malformed (the Messages API always sends one). Taken, it was
        // stored without the key (JSON drops undefined) and the history could not be read back.
        input: z.unknown()
          .refine((input) => input !== undefined, 'is required')
          // The Messages API's tool input is an object: null, a string or an array was taken, the
          // model read "invalid input" for twenty turns, and every later request echoed it back.
          .refine((input) => input === undefined || (typeof input === 'object' && input !== null && !Array.isArray(input)), 'must be an object')
          .refine((input) => nestsWithin(input, MAX_TOOL_INPUT_DEPTH), `must nest at most ${MAX_TOOL_INPUT_DEPTH} levels deep`),
      }),
    ]),
  ).refine((blocks) => blocks.filter((b) => b.type === 'tool_use').length <= MAX_TOOL_CALLS_PER_REPLY, `must make at most ${MAX_TOOL_CALLS_PER_REPLY} tool calls in one reply`)
    .refine((blocks) => {
      // Each call is answered by its id: two calls with one id would leave one unanswered.
      const ids = blocks.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
      return new Set(ids).size === ids.length;
    }, 'tool_use ids must be unique within a reply'),
  stopReason: z.enum(['end_turn', 'tool_use', 'max_tokens', 'stop_sequence', 'refusal', 'pause_turn']),
  usage: ModelUsageSchema,
});

// Compile-time check that the schema and the port agree.
type _SchemaMatchesPort = z.infer<typeof ModelReplySchema> extends ModelReply ? true : never;
const _check: _SchemaMatchesPort = true;
void _check;
