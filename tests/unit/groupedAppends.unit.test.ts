import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { DomainEvent, EventData } from '../../src/events/catalogue.js';
import { agentMachine, restingStateValue, statusOf } from '../../src/actors/agentMachine.js';
import { afterReply } from '../../src/actors/agentDecisions.js';
import type { AgentSnapshot } from '../../src/actors/replay.js';
import { dueEffect } from '../../src/actors/runtime/effects.js';
import { Slots } from '../../src/actors/slots.js';
import { pureToolResult } from '../../src/actors/toolRunner.js';

/**
 * Events decided together go in one append: each group must be a sequence the machine accepts
 * event by event, and end in a resting state whose due effect is what a restart would resume.
 */
const spawned: EventData<'AgentSpawned'> = { agentId: 'a1', parentId: 'p', rootId: 'p', depth: 1, kind: 'agent', role: 'w', task: 't', budget: 10_000, workspace: null, timeoutMs: null, maxTurns: 10, model: null };
const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0 };
const pure = (name: string, input: unknown) => pureToolResult(name, input);

function applyAll(s: AgentSnapshot, events: readonly DomainEvent[]): AgentSnapshot {
  for (const e of events) {
    expect(s.can(e), `${e.type} in ${JSON.stringify(s.value)}`).toBe(true);
    s = transition(agentMachine, s, e)[0];
  }
  expect(s.value).toEqual(restingStateValue(s.context));
  return s;
}

function awaitingModel(): AgentSnapshot {
  return applyAll(initialTransition(agentMachine, spawned)[0], [
    { type: 'AgentRunRequested', data: {} },
    { type: 'AgentStarted', data: { deadline: null } },
    { type: 'ModelRequested', data: { callId: 'k0', turn: 0, provider: 'scripted', model: 'm', requestRef: `sha256:${'0'.repeat(64)}`, reserved: 100, reserves: true } },
  ]);
}

describe('grouped appends', () => {
  it('a child opened to run: AgentSpawned, AgentRunRequested and AgentStarted in one batch leave it deciding its first step', () => {
    const s = awaitingModel();
    expect(dueEffect(s)).toBe('callModel');
    const opened = applyAll(initialTransition(agentMachine, spawned)[0], [{ type: 'AgentRunRequested', data: {} }, { type: 'AgentStarted', data: { deadline: null } }]);
    expect(dueEffect(opened)).toBe('decideNext');
  });

  it('a child opened with a free slot: AgentSpawned and AgentStarted alone (the start is the request) leave it deciding', () => {
    const opened = applyAll(initialTransition(agentMachine, spawned)[0], [{ type: 'AgentStarted', data: { deadline: null } }]);
    expect(opened.context.runRequested).toBe(true);
    expect(dueEffect(opened)).toBe('decideNext');
  });

  it('a reply calling only finish is followed by the end alone: the reply holds the call, the end its output', () => {
    const s = awaitingModel();
    const events = afterReply(s.context, 'k0', { model: 'm', content: [{ type: 'tool_use', id: 'f1', name: 'finish', input: { output: 'the result' } }], stopReason: 'tool_use', usage }, 0, pure);
    expect(events.map((e) => e.type)).toEqual(['ModelReplied', 'AgentCompleted']);
    const end = applyAll(s, events);
    expect(statusOf(end.value)).toBe('completed');
    expect(end.context.result?.output).toBe('the result');
    expect(dueEffect(end)).toBe('agentEnded');
  });

  it('a finish with bad input is answered in the same batch and the agent goes on to its next turn', () => {
    const s = awaitingModel();
    const events = afterReply(s.context, 'k0', { model: 'm', content: [{ type: 'tool_use', id: 'f1', name: 'finish', input: { nope: 1 } }], stopReason: 'tool_use', usage }, 0, pure);
    expect(events.map((e) => e.type)).toEqual(['ModelReplied', 'ToolCalled', 'ToolReturned']);
    const next = applyAll(s, events);
    expect(dueEffect(next)).toBe('decideNext');
  });

  it('two finish calls in one reply are recorded call by call, the end after them', () => {
    const s = awaitingModel();
    const content = [
      { type: 'tool_use' as const, id: 'f1', name: 'finish', input: { output: 'first' } },
      { type: 'tool_use' as const, id: 'f2', name: 'finish', input: { output: 'second' } },
    ];
    const events = afterReply(s.context, 'k0', { model: 'm', content, stopReason: 'tool_use', usage }, 0, pure);
    expect(events.map((e) => e.type)).toEqual(['ModelReplied', 'ToolCalled', 'ToolCalled', 'ToolReturned', 'ToolReturned', 'AgentCompleted']);
    expect(applyAll(s, events).context.result?.output).toBe('second');
  });

  it('any tool with effects beside finish keeps persist-then-act: only its call is recorded with the reply', () => {
    const s = awaitingModel();
    const content = [
      { type: 'tool_use' as const, id: 'w1', name: 'write_file', input: { path: 'a', content: 'x' } },
      { type: 'tool_use' as const, id: 'f1', name: 'finish', input: { output: 'done' } },
    ];
    const events = afterReply(s.context, 'k0', { model: 'm', content, stopReason: 'tool_use', usage }, 0, pure);
    expect(events.map((e) => e.type)).toEqual(['ModelReplied', 'ToolCalled', 'ToolCalled']);
    expect(dueEffect(applyAll(s, events))).toBe('runTools');
  });

  it('a slot for a start in the same append is taken only when free now, never ahead of the queue', async () => {
    const slots = new Slots(1);
    expect(slots.tryAcquire('a')).toBe(true);
    expect(slots.tryAcquire('a')).toBe(true);
    expect(slots.tryAcquire('b')).toBe(false);
    const queued = slots.acquire('c');
    slots.release('a');
    await queued;
    slots.release('c');
    const waiting = [slots.acquire('d'), slots.acquire('e')];
    expect(slots.tryAcquire('f')).toBe(false);
    await waiting[0];
    slots.close(new Error('closed'));
    await expect(waiting[1]).rejects.toThrow('closed');
    expect(slots.tryAcquire('g')).toBe(false);
  });
});
