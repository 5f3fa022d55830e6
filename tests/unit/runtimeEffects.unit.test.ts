import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { DomainEvent, EventData } from '../../src/events/catalogue.js';
import { agentMachine, restingStateValue } from '../../src/actors/agentMachine.js';
import { afterReply } from '../../src/actors/agentDecisions.js';
import type { AgentSnapshot } from '../../src/actors/replay.js';
import { dueEffect, type EffectName } from '../../src/actors/runtime/effects.js';

/**
 * The runtime runs the effect an action names only while the state still says it is due
 * (dueEffect), and after a restart, where no action fires, only what dueEffect reads off the
 * resting state. Both hold only if every transition's last effect action is the one dueEffect
 * gives for the state it reaches: checked here along a run with a model call, a tool, a child and
 * the end.
 */
const spawned: EventData<'AgentSpawned'> = { agentId: 'a1', parentId: null, rootId: 'a1', depth: 0, kind: 'agent', role: 'lead', task: 't', budget: 10_000, workspace: null, timeoutMs: null, maxTurns: 10, model: null };
const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 };
const effectNames: ReadonlySet<string> = new Set<EffectName>(['startRun', 'decideNext', 'callModel', 'runTools', 'awaitChildren', 'agentEnded']);

/** Steps one event; returns the effect actions it fired, in order. */
function stepEffects(s: AgentSnapshot, e: DomainEvent): [AgentSnapshot, string[]] {
  expect(s.can(e), `${e.type} in ${JSON.stringify(s.value)}`).toBe(true);
  const [next, actions] = transition(agentMachine, s, e);
  return [next, actions.map((a) => a.type).filter((t) => effectNames.has(t))];
}

describe('effects: what an action names is what the resting state says is due', () => {
  it('along a run, each transition that fires an effect fires last the one dueEffect reads off its state', () => {
    let s = initialTransition(agentMachine, spawned)[0];
    expect(dueEffect(s)).toBeNull();
    const seen: string[] = [];
    const apply = (...events: DomainEvent[]): void => {
      for (const e of events) {
        const [next, fired] = stepEffects(s, e);
        s = next;
        if (fired.length > 0) expect(fired[fired.length - 1], `after ${e.type}`).toBe(dueEffect(s));
        seen.push(...fired);
      }
      // A batch is stored whole: what a restart would resume from its context agrees.
      expect(dueEffect({ ...s, value: restingStateValue(s.context) } as AgentSnapshot)).toBe(dueEffect(s));
    };
    const request = (callId: string, turn: number): DomainEvent[] => [
      { type: 'ModelRequested', data: { callId, turn, provider: 'scripted', model: 'm', requestRef: `sha256:${'0'.repeat(64)}`, reserved: 100, reserves: true } },
    ];
    apply({ type: 'AgentRunRequested', data: {} });
    apply({ type: 'AgentStarted', data: { deadline: null } });
    apply(...request('k0', 0));
    apply(...afterReply(s.context, 'k0', { model: 'm', content: [{ type: 'tool_use', id: 'tu1', name: 'read_file', input: { path: 'a' } }], stopReason: 'tool_use', usage }, 0));
    apply({ type: 'ToolReturned', data: { toolUseId: 'tu1', name: 'read_file', output: 'x', isError: false } });
    apply({ type: 'ChildSpawned', data: { childId: 'c1', role: 'w', task: 't', budget: 1000, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null } });
    apply({ type: 'ChildFinished', data: { childId: 'c1', status: 'completed', output: 'done', reclaim: { allocated: 1000, returned: 1000, spent: 0, overspent: 0 }, completesNode: null } });
    apply(...request('k1', 1));
    apply(...afterReply(s.context, 'k1', { model: 'm', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage }, 0)); // the reply and the end, one batch
    expect(dueEffect(s)).toBe('agentEnded');
    expect(new Set(seen)).toEqual(effectNames);
  });
});
