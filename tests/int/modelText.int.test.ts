import { describe, expect, it } from 'vitest';
import type { ModelTextProgress } from '../../src/actors/runtime/progressHub.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { startFakeMessagesApi } from '../support/fakeMessagesApi.js';
import { testSystem } from '../support/system.js';

/**
 * A model's text as it arrives, for watchers (agent.modelText()): pieces in order, redacted,
 * never recorded (the stored reply is the whole text), and the loop ends with the agent.
 */
const SECRET = 'sk-ant-api03-WATCHEDSECRET';
const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };

async function collect(feed: AsyncIterable<ModelTextProgress>): Promise<ModelTextProgress[]> {
  const out: ModelTextProgress[] = [];
  for await (const p of feed) out.push(p);
  return out;
}

describe('model text as it arrives', () => {
  it('with a scripted model: every piece once, in order, secrets removed, ending with the agent', { timeout: 60_000 }, async () => {
    const text = `Thinking it over: the key ${SECRET} must not show. The answer is 42.`;
    const model = createScriptedProvider([{ model: 'scripted', content: [{ type: 'text', text }], stopReason: 'end_turn', usage }]);
    const system = await testSystem('pglite', { model, env: { ANTHROPIC_API_KEY: SECRET } });
    try {
      const agent = await system.spawn({ role: 'thinker', task: 'Think.', budget: 20_000 });
      const watching = collect(agent.modelText());
      const result = await agent.run();
      const pieces = await watching; // ended with the agent
      expect(pieces.length).toBeGreaterThan(5);
      expect(new Set(pieces.map((p) => p.agentId))).toEqual(new Set([agent.id]));
      const shown = pieces.map((p) => p.text).join('');
      expect(shown).not.toContain(SECRET);
      expect(shown).toBe(text.replace(SECRET, '[redacted]'));
      // The stored reply is redacted too, before it is recorded (redactingModel): other processes
      // read it without knowing this one's secrets.
      expect(result.output).toBe(text.replace(SECRET, '[redacted]'));
      const replies = (await agent.history()).filter((e) => e.type === 'ModelReplied');
      expect(replies).toHaveLength(1); // one reply recorded, no piece of it
    } finally {
      await system.close();
    }
  });

  it('through the real SDK: the call streams only while someone watches', { timeout: 60_000 }, async () => {
    const api = await startFakeMessagesApi();
    api.setFallback(() => ({ kind: 'message', message: { content: [{ type: 'text', text: 'A long and careful answer, streamed seven characters at a time.' }], stopReason: 'end_turn' } }));
    const system = await testSystem('pglite', { model: { provider: 'anthropic', apiKey: 'sk-test-key', baseURL: api.url, maxRetries: 0 } });
    try {
      const watched = await system.spawn({ role: 'writer', task: 'Write.', budget: 20_000 });
      const pieces = collect(watched.modelText());
      expect((await watched.run()).output).toBe('A long and careful answer, streamed seven characters at a time.');
      expect((await pieces).map((p) => p.text).join('')).toBe('A long and careful answer, streamed seven characters at a time.');
      const unwatched = await system.spawn({ role: 'writer', task: 'Write.', budget: 20_000 });
      await unwatched.run();
      const [first, second] = api.messageRequests().map((r) => (r.body as { stream?: boolean }).stream === true);
      expect([first, second]).toEqual([true, false]);
    } finally {
      await system.close();
      await api.close();
    }
  });
});
