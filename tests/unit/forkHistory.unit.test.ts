import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../src/events/upcast.js';
import { eventSchemas, type DomainEvent } from '../../src/events/catalogue.js';
import { forkHistory } from '../../src/actors/forkHistory.js';
import { foldResting } from '../../src/actors/replay.js';
import { recordedEvent } from '../support/events.js';

const spawned = { agentId: 'src', parentId: null, rootId: 'src', depth: 0, kind: 'agent', role: 'r', task: 't', budget: 10_000, workspace: null, timeoutMs: null, maxTurns: 5, model: 'a' } as const;
const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const stream: DomainEvent[] = [
  { type: 'AgentSpawned', data: spawned },
  { type: 'AgentStarted', data: { deadline: null } },
  { type: 'BudgetReserved', data: { reservationId: 'c1', amount: 1000 } },
  { type: 'ModelRequested', data: { callId: 'c1', turn: 0, provider: 'p', model: 'a', requestRef: 'ref1', reserved: 1000, reserves: false } },
  { type: 'ModelReplied', data: { callId: 'c1', model: 'a', content: [{ type: 'tool_use', id: 'tu1', name: 'lookup', input: {} }], stopReason: 'tool_use', usage, costUsd: 0, settles: false } },
  { type: 'BudgetSettled', data: { reservationId: 'c1', consumed: 120, model: 'a', costUsd: 0 } },
  { type: 'ToolCalled', data: { toolUseId: 'tu1', name: 'lookup', input: {} } },
  { type: 'BudgetReserved', data: { reservationId: 'c2', amount: 1000 } },
  { type: 'ModelRequested', data: { callId: 'c2', turn: 1, provider: 'p', model: 'a', requestRef: 'ref2', reserved: 1000, reserves: false } },
];
/** The same stream as recorded since ModelRequested v2 and ModelReplied v2: they reserve and settle themselves. */
const streamV2: DomainEvent[] = stream
  .filter((e) => e.type !== 'BudgetReserved' && e.type !== 'BudgetSettled')
  .map((e) => (e.type === 'ModelRequested' ? { ...e, data: { ...e.data, reserves: true } } : e.type === 'ModelReplied' ? { ...e, data: { ...e.data, settles: true } } : e));

describe('forkHistory (pure)', () => {
  it('keeps the conversation, leaves the ledger as history and drops the unanswered call', () => {
    const cut = forkHistory(stream, stream.length - 1);
    expect(cut.spentBefore).toBe(120);
    expect(cut.history.map((e) => e.type)).toEqual(['ModelRequested', 'ModelReplied', 'ToolCalled']);
    // It opens a fork the machine accepts: a pending tool call, no reservation, no pending model call.
    const fork = foldResting([{ type: 'AgentSpawned', data: { ...spawned, agentId: 'f', rootId: 'f' } }, { type: 'AgentStarted', data: { deadline: null } }, ...cut.history]);
    expect(fork.context.pendingCall).toBeNull();
    expect(Object.keys(fork.context.pendingTools)).toEqual(['tu1']);
    expect(fork.context.budget.reserved).toBe(0);
  });

  it('carries a v2 request and reply as records that move no budget, and counts the reply as spent before', () => {
    const cut = forkHistory(streamV2, streamV2.length - 1);
    expect(cut.spentBefore).toBe(120);
    expect(cut.history.map((e) => e.type)).toEqual(['ModelRequested', 'ModelReplied', 'ToolCalled']);
    expect(cut.history.slice(0, 2).map((e) => e.data)).toMatchObject([{ reserves: false }, { settles: false }]);
    const fork = foldResting([{ type: 'AgentSpawned', data: { ...spawned, agentId: 'f', rootId: 'f' } }, { type: 'AgentStarted', data: { deadline: null } }, ...cut.history]);
    expect(fork.context.budget).toMatchObject({ reserved: 0, consumed: 0, reservations: {} });
    expect(Object.keys(fork.context.pendingTools)).toEqual(['tu1']);
  });

  it('starts the fork\'s branch at the last commit recorded at or before the cut', () => {
    const withTree: DomainEvent[] = [stream[0]!, stream[1]!, { type: 'WorkspaceCreated', data: { path: '/w', branch: 'agents/src', baseBranch: 'main', baseCommit: 'c0' } }, ...stream.slice(2)];
    expect(forkHistory(stream, 3).baseCommit).toBeNull();
    expect(forkHistory(withTree, 4).baseCommit).toBe('c0');
    const committed: DomainEvent[] = [...withTree, { type: 'WorkspaceCommitted', data: { commit: 'c1', files: ['a.ts'] } }];
    expect(forkHistory(committed, committed.length - 1).baseCommit).toBe('c1');
    expect(forkHistory(committed, committed.length - 2).baseCommit).toBe('c0');
  });

  it('a call the cut left running is asked about again: the source\'s approval was for the source\'s run', () => {
    const asked: DomainEvent[] = [
      ...stream.slice(0, 7),
      { type: 'ApprovalRequested', data: { callId: 'tu1', tool: 'lookup', input: {}, requestedAt: '2026-01-01T00:00:00.000Z', expiresAt: null } },
      { type: 'ApprovalGranted', data: { callId: 'tu1', by: 'alice' } },
    ];
    expect(forkHistory(asked, asked.length - 1).history.map((e) => e.type)).toEqual(['ModelRequested', 'ModelReplied', 'ToolCalled']);
    const answered: DomainEvent[] = [...asked, { type: 'ToolReturned', data: { toolUseId: 'tu1', name: 'lookup', output: 'ok', isError: false } }];
    expect(forkHistory(answered, answered.length - 1).history.map((e) => e.type)).toEqual(['ModelRequested', 'ModelReplied', 'ToolCalled', 'ApprovalRequested', 'ApprovalGranted', 'ToolReturned']);
  });

  it('refuses revisions outside the stream and histories it cannot carry yet, naming fork.atRevision', () => {
    expect(() => forkHistory(stream, stream.length)).toThrow(/fork\.atRevision/);
    expect(() => forkHistory(stream, -1)).toThrow(/fork\.atRevision/);
    const withChild: DomainEvent[] = [...stream.slice(0, 2), { type: 'AgentCompleted', data: { output: 'x', returned: 0 } } as unknown as DomainEvent];
    expect(() => forkHistory(withChild, 2)).toThrow(/fork\.atRevision.*AgentCompleted/);
  });
});

describe('AgentSpawned.forkedFrom (optional, no version change)', () => {
  it('an AgentSpawned stored before forks existed reads with no forkedFrom', () => {
    const e = parseRecorded(recordedEvent('AgentSpawned', eventSchemas.AgentSpawned.version, spawned));
    expect(e.data).toEqual(spawned);
    expect('forkedFrom' in e.data).toBe(false);
  });

  it('a malformed forkedFrom is refused, naming the field', () => {
    const bad = { ...spawned, forkedFrom: { sourceId: 'src', sourceRevision: 1, sourcePosition: 'x', spentBefore: 0 } };
    expect(() => parseRecorded(recordedEvent('AgentSpawned', eventSchemas.AgentSpawned.version, bad))).toThrow(/forkedFrom\.sourcePosition/);
  });
});
