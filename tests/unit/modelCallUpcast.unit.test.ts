import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../src/events/upcast.js';
import { eventSchemas } from '../../src/events/catalogue.js';
import { InvalidInput } from '../../src/errors.js';
import { evolve, initialContext, type AgentContext } from '../../src/actors/agentContext.js';
import { afterReply, afterUnusableReply } from '../../src/actors/agentDecisions.js';
import { timelineEntry } from '../../src/dashboard/timeline.js';
import { toHistoryEvent } from '../../src/events/historyEvent.js';
import { recordedEvent } from '../support/events.js';
import { summarize } from '../../src/projections/summarize.js';
import { markResent } from '../../src/actors/runtime/modelTurn.js';

const usage = { inputTokens: 300, outputTokens: 45, cacheReadTokens: 5, cacheCreationTokens: 0 };
const requestV1 = { callId: 'k1', turn: 0, provider: 'anthropic', model: 'claude', requestRef: `sha256:${'0'.repeat(64)}`, reserved: 1200 };
const replyV1 = { callId: 'k1', model: 'claude', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage, costUsd: 0.0125 };
const agent = (): AgentContext => initialContext({ agentId: 'a', parentId: null, rootId: 'a', depth: 0, kind: 'agent', role: 'r', task: 't', budget: 5000, workspace: null, timeoutMs: null, maxTurns: 5, model: null });
const fold = (events: ReadonlyArray<{ type: string; data: unknown }>): AgentContext => events.reduce(evolve, agent());

describe('ModelRequested v1 → v2 and ModelReplied v1 → v2 (the call reserves and settles itself; BudgetReserved and BudgetSettled no longer written)', () => {
  it('are at version 2 or later in the catalogue', () => {
    expect(eventSchemas.ModelRequested.version).toBe(2);
    expect(eventSchemas.ModelReplied.version).toBe(3);
  });

  it('read a v1 request and reply (the shapes recorded before) as moving no budget themselves', () => {
    expect(parseRecorded(recordedEvent('ModelRequested', 1, requestV1)).data).toEqual({ ...requestV1, reserves: false });
    expect(parseRecorded(recordedEvent('ModelReplied', 1, replyV1)).data).toEqual({ ...replyV1, settles: false });
  });

  it('an old stream (BudgetReserved, v1 request, v1 reply, BudgetSettled) and a new one (v2 request and reply) fold to the same agent', () => {
    const old = fold([
      { type: 'BudgetReserved', data: { reservationId: 'k1', amount: 1200 } },
      parseRecorded(recordedEvent('ModelRequested', 1, requestV1)),
      parseRecorded(recordedEvent('ModelReplied', 1, replyV1)),
      { type: 'BudgetSettled', data: { reservationId: 'k1', consumed: 350, model: 'claude', costUsd: 0.0125 } },
    ]);
    const asked = fold([parseRecorded(recordedEvent('ModelRequested', 2, { ...requestV1, reserves: true }))]);
    expect(asked.budget).toMatchObject({ reserved: 1200, reservations: { k1: 1200 } });
    const now = fold([
      parseRecorded(recordedEvent('ModelRequested', 2, { ...requestV1, reserves: true })),
      parseRecorded(recordedEvent('ModelReplied', 2, { ...replyV1, settles: true })),
    ]);
    expect(now.budget).toEqual(old.budget);
    expect(now.budget).toMatchObject({ consumed: 350, reserved: 0, reservations: {} });
    expect(now.costUsd).toBe(old.costUsd);
    expect(now.transcript).toEqual(old.transcript);
  });

  it('a call asked for by an older version (BudgetReserved, v1 request) and answered by this one is settled by the v2 reply', () => {
    const pending = fold([
      { type: 'BudgetReserved', data: { reservationId: 'k1', amount: 1200 } },
      parseRecorded(recordedEvent('ModelRequested', 1, requestV1)),
    ]);
    // Every version has reserved under the call's id, so the reply closes the old reservation.
    const events = afterReply(pending, 'k1', { model: 'claude', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage }, 0.0125);
    expect(events.map((e) => e.type)).toEqual(['ModelReplied', 'AgentCompleted']);
    const after = events.reduce(evolve, pending);
    expect(after.budget).toMatchObject({ consumed: 350, reserved: 0, reservations: {} });
    expect(events[1]!.data).toMatchObject({ returned: 5000 - 350 });
  });

  it('reads in the timeline as what it did: a reservation only where the request made one, the settlement and cache counts on the reply', () => {
    const line = (version: number, type: 'ModelRequested' | 'ModelReplied', data: object) => timelineEntry(toHistoryEvent(parseRecorded(recordedEvent(type, version, data)))).summary;
    expect(line(2, 'ModelRequested', { ...requestV1, reserves: true })).toBe('turn 0: asked claude (1200 tokens reserved)');
    // v1 (its BudgetReserved has its own line) and a fork's carried request reserve nothing here.
    expect(line(1, 'ModelRequested', requestV1)).toBe('turn 0: asked claude');
    expect(line(2, 'ModelReplied', { ...replyV1, settles: true })).toBe('model replied (300 in / 45 out, 5 cache read; settled: 350 tokens used, $0.0125): done');
    expect(line(1, 'ModelReplied', replyV1)).toBe('model replied (300 in / 45 out, 5 cache read): done');
  });

  it('a call answered with an unusable reply is charged its whole reservation, and the agent fails', () => {
    const pending = fold([parseRecorded(recordedEvent('ModelRequested', 2, { ...requestV1, reserves: true }))]);
    const events = afterUnusableReply(pending, 'k1', 'the model API sent an invalid reply: reply.usage.inputTokens: too big', { model: 'claude', costUsd: 0.02 });
    expect(events.map((e) => e.type)).toEqual(['ModelFailed', 'BudgetSettled', 'AgentFailed']);
    const after = events.reduce(evolve, pending);
    expect(after.budget).toMatchObject({ consumed: 1200, reserved: 0, reservations: {} });
    expect(after.costUsd).toBe(0.02);
    expect(events[2]!.data).toMatchObject({ cause: 'model_error', returned: 5000 - 1200 });
  });

  it('refuses a v2 event without its new field, naming it', () => {
    expect(() => parseRecorded(recordedEvent('ModelRequested', 2, requestV1))).toThrow(InvalidInput);
    expect(() => parseRecorded(recordedEvent('ModelRequested', 2, requestV1))).toThrow(/data\.reserves/);
    expect(() => parseRecorded(recordedEvent('ModelReplied', 2, replyV1))).toThrow(/data\.settles/);
  });
});

describe('ModelReplied v2 → v3 and ModelFailed v1 → v2 (a call sent again after a takeover is marked resent)', () => {
  const replyV2 = { ...replyV1, settles: true };
  const failedV1 = { callId: 'k1', error: 'overloaded', retryable: true };

  it('read a v2 reply and a v1 failure (the shapes recorded before) as they were: not marked, since their history cannot tell', () => {
    expect(eventSchemas.ModelFailed.version).toBe(2);
    expect(parseRecorded(recordedEvent('ModelReplied', 2, replyV2)).data).toEqual(replyV2);
    expect(parseRecorded(recordedEvent('ModelFailed', 1, failedV1)).data).toEqual(failedV1);
  });

  it('a marked reply folds as an unmarked one does (the mark is for the audit, not the budget)', () => {
    const requested = parseRecorded(recordedEvent('ModelRequested', 2, { ...requestV1, reserves: true }));
    const plain = fold([requested, parseRecorded(recordedEvent('ModelReplied', 2, replyV2))]);
    const marked = fold([requested, parseRecorded(recordedEvent('ModelReplied', 3, { ...replyV2, resent: true }))]);
    expect(marked).toEqual(plain);
  });

  it('history and the timeline say a marked call may have been billed twice; only `true` is stored', () => {
    const parsed = parseRecorded(recordedEvent('ModelReplied', 3, { ...replyV2, resent: true }));
    // First on the line, where a clipped line keeps it (a new user's 300-column terminal cut it off at the end).
    expect(summarize(parsed)).toBe('model replied [sent again after a host took the agent over: the provider may have billed it more than once] (end_turn, 300 in / 45 out; settled 350 tokens ($0.012500))');
    expect(timelineEntry(toHistoryEvent(parsed)).summary).toBe('model replied [sent again after a takeover: maybe billed more than once] (300 in / 45 out, 5 cache read; settled: 350 tokens used, $0.0125): done');
    const failed = parseRecorded(recordedEvent('ModelFailed', 2, { ...failedV1, resent: true }));
    expect(summarize(failed)).toBe('model call failed [sent again after a host took the agent over: the provider may have billed it more than once] (retryable): overloaded');
    expect(() => parseRecorded(recordedEvent('ModelReplied', 3, { ...replyV2, resent: false }))).toThrow(InvalidInput);
  });

  it('markResent marks only the reply to (or failure of) the call named', () => {
    const events = afterReply(fold([parseRecorded(recordedEvent('ModelRequested', 2, { ...requestV1, reserves: true }))]), 'k1', { model: 'claude', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage }, 0.0125);
    const marked = markResent(events, 'k1');
    expect(marked.map((e) => e.type)).toEqual(['ModelReplied', 'AgentCompleted']);
    expect(marked[0]!.data).toMatchObject({ resent: true });
    expect(marked[1]).toEqual(events[1]);
    expect(markResent(events, 'other')).toEqual(events);
  });
});
