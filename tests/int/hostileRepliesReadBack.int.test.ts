import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createAgentSystem, type AgentSystem } from '../../src/system.js';
import type { ModelProvider, ModelReply } from '../../src/actors/ports/modelProvider.js';
import { freshSchema, testPgUrl } from '../support/testDb.js';

/**
 * Whatever a hostile model sends, what cadre stores from it must read back: a tool call without
 * `input` was stored and then no command could read its agent, recover it, or project its budget
 * (a trial's). Generated replies call the agent tools with inputs of any shape; after each run,
 * every agent of the tree reads back (history, state from a second process) and is projected.
 */
describe('replies of any shape leave a history that reads back', () => {
  const schema = freshSchema('hrr');
  let writer: AgentSystem;
  let reader: AgentSystem;
  let script: unknown[] = [];
  const provider: ModelProvider = {
    name: 'hostile',
    isLLM: true,
    defaultModel: 'scripted',
    estimateInputTokens: () => 100,
    complete: async () => {
      const usage = { inputTokens: 1_000, outputTokens: 400, cacheReadTokens: 0, cacheCreationTokens: 0 };
      const content = script.shift() ?? [{ type: 'tool_use', id: 'end', name: 'finish', input: { output: 'done' } }];
      return { model: 'scripted', stopReason: 'tool_use', usage, content } as unknown as ModelReply;
    },
  };
  beforeAll(async () => {
    writer = await createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema, env: {}, model: provider });
    reader = await createAgentSystem({ store: { kind: 'postgres', connectionString: testPgUrl() }, schema, env: {}, model: provider, recover: false });
  });
  afterAll(async () => {
    await reader?.close();
    await writer?.close();
  });

  const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\0', '\ud800', '😀', '"', '\\', 'x', '-'), maxLength: 10 });
  const anyValue = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 3 }));
  const someInput = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> =>
    fc.oneof(fc.record(fields, { requiredKeys: [] }), anyValue, fc.dictionary(text, anyValue, { maxKeys: 4 }));
  const call = (i: number): fc.Arbitrary<unknown> => fc.oneof(
    fc.record({ type: fc.constant('text'), text }),
    fc.record({
      type: fc.constant('tool_use'),
      id: fc.constant(`t${i}`),
      name: fc.constantFrom('spawn_agent', 'send_message', 'receive_messages', 'finish', 'read_file', 'nosuch', ''),
      input: someInput({ role: anyValue, task: anyValue, budget: fc.oneof(fc.integer({ min: -5, max: 5_000 }), anyValue), to: anyValue, payload: anyValue, priority: anyValue, max: anyValue, output: anyValue, path: anyValue }),
    }, { requiredKeys: ['type', 'id', 'name'] }),
  );
  const reply = fc.array(fc.nat(), { minLength: 1, maxLength: 3 }).chain((ns) => fc.tuple(...ns.map((_, i) => call(i))));

  it('for 30 generated conversations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(reply, { minLength: 1, maxLength: 4 }), async (replies) => {
        script = [...replies];
        const agent = await writer.spawn({ role: 'r', task: 't', budget: 400_000 });
        await agent.run();
        // Children the replies spawned end too (or are ended with the run).
        await writer.reports.caughtUp(30_000);
        const tree = await writer.reports.tree(agent.id);
        expect(tree.length, JSON.stringify({ id: agent.id, run: await writer.get(agent.id).state().then((s) => s.status), agent: await writer.reports.agent(agent.id) })).toBeGreaterThan(0);
        for (const node of tree) {
          const history = await reader.history(node.agentId);
          expect(history.length).toBeGreaterThan(0);
          await reader.get(node.agentId).state();
        }
        // The budget read model matches the agent's own fold: nothing was skipped on the way.
        const state = await reader.get(agent.id).state();
        const projected = await writer.reports.budget(agent.id);
        expect(projected).toMatchObject({ consumed: state.budget.consumed, reserved: state.budget.reserved });
      }),
      { numRuns: 30 },
    );
  }, 240_000);
});
