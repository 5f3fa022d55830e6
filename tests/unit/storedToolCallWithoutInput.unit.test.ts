import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../src/events/upcast.js';
import { eventSchemas } from '../../src/events/catalogue.js';
import { evolve, initialContext } from '../../src/actors/agentContext.js';
import { recordedEvent } from '../support/events.js';

/**
 * A reply whose tool call had no `input` was taken until the reply schema refused it, and stored
 * without the key (JSON drops undefined): reading it back failed ("expected nonoptional"), so
 * the agent could not be shown, recovered or projected. Such a history must still open.
 */
describe('a stored tool call without its input', () => {
  const usage = { inputTokens: 100, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
  const reply = { callId: 'c1', model: 'm', content: [{ type: 'tool_use', id: 'x', name: 'finish' }], stopReason: 'tool_use', usage, costUsd: 0, settles: true };

  it('reads back, at the versions this shape was written in, with the input absent', () => {
    const replied = parseRecorded(recordedEvent('ModelReplied', eventSchemas.ModelReplied.version, reply));
    expect(replied.data).toMatchObject({ content: [{ type: 'tool_use', id: 'x', name: 'finish' }] });
    expect((replied.data as { content: Array<{ input?: unknown }> }).content[0]!.input).toBeUndefined();
    const called = parseRecorded(recordedEvent('ToolCalled', eventSchemas.ToolCalled.version, { toolUseId: 'x', name: 'finish' }));
    expect(called.data).toEqual({ toolUseId: 'x', name: 'finish', input: undefined });
  });

  it('folds into the agent: the call is pending with no input, as the agent saw it', () => {
    const agent = initialContext({ agentId: 'a', parentId: null, rootId: 'a', depth: 0, kind: 'agent', role: 'r', task: 't', budget: 5000, workspace: null, timeoutMs: null, maxTurns: 5, model: null });
    const folded = [
      parseRecorded(recordedEvent('ModelRequested', 2, { callId: 'c1', turn: 0, provider: 'p', model: 'm', requestRef: `sha256:${'0'.repeat(64)}`, reserved: 500, reserves: true })),
      parseRecorded(recordedEvent('ModelReplied', eventSchemas.ModelReplied.version, reply)),
    ].reduce(evolve, agent);
    expect(folded.budget).toMatchObject({ consumed: 110, reserved: 0 });
  });

  it('a present input is still required to be read as given', () => {
    const withInput = { ...reply, content: [{ type: 'tool_use', id: 'x', name: 'finish', input: { output: 'ok' } }] };
    expect(parseRecorded(recordedEvent('ModelReplied', eventSchemas.ModelReplied.version, withInput)).data).toMatchObject({ content: [{ input: { output: 'ok' } }] });
  });
});
