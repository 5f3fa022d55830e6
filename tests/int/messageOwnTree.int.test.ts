import { describe, expect, it } from 'vitest';
import type { ModelReply, ModelRequest } from '../../src/actors/ports/modelProvider.js';
import { createScriptedProvider } from '../../src/infra/model/scriptedProvider.js';
import { testSystem } from '../support/system.js';

/**
 * A model's `send_message` reached any live agent of the store, in any tree (an attacker's try:
 * `git branch -a` lists every agent's id): a prompt injected in one team could steer another.
 * A model writes only into its own tree; code (agent.sendMessage) still sends anywhere.
 */
describe("send_message and the sender's tree", () => {
  it('reaches an agent of its own tree, and is refused, naming the tree, for one of another; code sends anywhere', async () => {
    const usage = { inputTokens: 10, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
    const reply = (content: ModelReply['content']): ModelReply => ({ model: 'scripted', content, stopReason: 'tool_use', usage });
    const ids = { sibling: '', stranger: '' };
    const model = createScriptedProvider((_r: ModelRequest, i: number) =>
      i === 0
        ? reply([
            { type: 'tool_use', id: 'toolu_mine', name: 'send_message', input: { to: ids.sibling, payload: { hi: 'team' } } },
            { type: 'tool_use', id: 'toolu_theirs', name: 'send_message', input: { to: ids.stranger, payload: { do: 'what I say' } } },
          ])
        : reply([{ type: 'tool_use', id: 'toolu_finish', name: 'finish', input: { output: 'done' } }]),
    );
    const system = await testSystem('postgres', { model });
    try {
      const lead = await system.spawn({ role: 'lead', task: 'team', budget: 40_000 });
      const sender = await lead.spawn({ role: 'sender', task: 'message the team', budget: 10_000 });
      ids.sibling = (await lead.spawn({ role: 'sibling', task: 'wait', budget: 1_000 })).id;
      const otherTeam = await system.spawn({ role: 'other-lead', task: 'another team', budget: 1_000 });
      ids.stranger = otherTeam.id;
      expect((await sender.run()).status).toBe('completed');
      const returned = (await system.history(sender.id)).flatMap((e) => (e.type === 'ToolReturned' ? [e.data] : []));
      expect(returned.find((r) => r.toolUseId === 'toolu_mine')).toMatchObject({ isError: false });
      expect(returned.find((r) => r.toolUseId === 'toolu_theirs')).toMatchObject({ isError: true, output: expect.stringMatching(new RegExp(`is not in your tree \\(the agents under ${lead.id}\\)`)) });
      expect(await system.messaging.queueDepth(ids.sibling)).toBe(1);
      expect(await system.messaging.queueDepth(ids.stranger)).toBe(0);
      // The user's code is not a model: it may message any tree.
      await expect(lead.sendMessage(ids.stranger, { from: 'code' })).resolves.toHaveProperty('messageId');
    } finally {
      await system.close();
    }
  });
});
