import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkingModel } from '../../src/infra/model/checkingModel.js';
import { redactingModel } from '../../src/infra/model/redactingModel.js';
import { createRedactor } from '../../src/infra/redact.js';
import { eventSchemas } from '../../src/events/catalogue.js';
import type { ModelProvider, ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';

/**
 * Whatever a model sends that the provider chain takes (checked, redacted, made storable) must
 * read back from the store as a ModelReplied: a tool call without `input` was taken, stored
 * without the key, and every later read of its agent failed. Stored means JSON-encoded here (the
 * stores keep JSON), so undefined, NaN and the like change on the way, and the reader must still
 * take what comes back.
 */
describe('a reply the provider chain takes reads back as stored', () => {
  const request: ModelRequest = { model: 'm', system: 's', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 1000 };
  const text = fc.string({ unit: fc.constantFrom('a', 'b', '\0', '\ud800', '\udc00', '😀', ' ', 'sk-ant-', '"') , maxLength: 12 });
  const input = fc.oneof(
    fc.constant(undefined),
    fc.anything({ maxDepth: 3, withNullPrototype: true, withBoxedValues: true, withSparseArray: true, withObjectString: true }),
    fc.dictionary(text, fc.oneof(text, fc.double(), fc.constant(undefined), fc.constant(null))),
  );
  const block = fc.oneof(
    fc.record({ type: fc.constant('text' as const), text }),
    fc.record({ type: fc.constant('tool_use' as const), id: text, name: text, input }, { requiredKeys: ['type', 'id', 'name'] }),
  );
  const reply = fc.record({
    model: text,
    content: fc.array(block, { maxLength: 4 }),
    stopReason: fc.constantFrom('end_turn', 'tool_use'),
    usage: fc.record({ inputTokens: fc.integer({ min: 1, max: 100 }), outputTokens: fc.integer({ min: 1000, max: 2000 }), cacheReadTokens: fc.constant(0), cacheCreationTokens: fc.constant(0) }),
  });

  it('as a ModelReplied event, after a JSON round trip', async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(reply, async (sent) => {
        const provider: ModelProvider = { name: 'p', isLLM: true, defaultModel: 'm', estimateInputTokens: () => 1, complete: async () => sent as unknown as ModelReply };
        const got = await redactingModel(checkingModel(provider), createRedactor(['sk-ant-secretsecret'])).complete(request).catch(() => null);
        if (got === null) return; // refused: nothing is stored from it
        taken++;
        const data = { callId: 'c', model: got.model, content: got.content, stopReason: got.stopReason, usage: got.usage, costUsd: 0, settles: true };
        const stored: unknown = JSON.parse(JSON.stringify(data));
        const read = eventSchemas.ModelReplied.schema.safeParse(stored);
        expect(read.success, JSON.stringify(read.error?.issues[0])).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // Most replies are taken, so the property is about stored replies, not refusals.
    expect(taken).toBeGreaterThan(600);
  });
});
