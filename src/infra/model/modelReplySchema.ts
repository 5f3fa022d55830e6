import { z } from 'zod';
import type { ModelReply } from '../../actors/ports/modelProvider.js';

const count = z.number().int().nonnegative();

/** zod schema of the port's `ModelUsage`. */
export const ModelUsageSchema = z.strictObject({
  inputTokens: count,
  outputTokens: count,
  cacheReadTokens: count,
  cacheCreationTokens: count,
});

/**
 * zod schema of the port's `ModelReply`: a reply that came from outside the type system (a
 * test script, a recorded fixture) is parsed before the agent loop trusts it.
 *
 * @example
 * const reply = parseInput(ModelReplySchema, untrusted, 'reply');
 */
export const ModelReplySchema = z.strictObject({
  model: z.string().min(1),
  content: z.array(
    z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('text'), text: z.string() }),
      z.strictObject({ type: z.literal('tool_use'), id: z.string().min(1), name: z.string().min(1), input: z.unknown() }),
    ]),
  ),
  stopReason: z.enum(['end_turn', 'tool_use', 'max_tokens', 'stop_sequence', 'refusal', 'pause_turn']),
  usage: ModelUsageSchema,
});

// Compile-time check that the schema and the port agree.
type _SchemaMatchesPort = z.infer<typeof ModelReplySchema> extends ModelReply ? true : never;
const _check: _SchemaMatchesPort = true;
void _check;
