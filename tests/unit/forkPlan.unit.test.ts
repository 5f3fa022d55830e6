import { describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/events/catalogue.js';
import { forkRevision, planFork, type SourceStream } from '../../src/actors/forkPlan.js';
import { replyDecisionEnd } from '../../src/actors/replyDecisionEnd.js';
import { foldResting } from '../../src/actors/replay.js';

/**
 * planFork on hand-written streams, recorded as before ModelRequested v2 and ModelReplied v2
 * (a BudgetReserved before each request, a BudgetSettled after each reply): a lead whose spawn_agent child ended between two of the
 * lead's events, so a cut there sees the child ended and the lead not yet told.
 */
const usage = { inputTokens: 100, outputTokens: 20, cacheReadTokens: 0, cacheCreationTokens: 0 };
const spawned = (agentId: string, parentId: string | null, budget: number) => ({ agentId, parentId, rootId: 'lead', depth: parentId ? 1 : 0, kind: 'agent' as const, role: agentId, task: 't', budget, workspace: null, timeoutMs: null, maxTurns: 5, model: 'a' });
const reply = (callId: string, ...tools: Array<[string, string, unknown]>): DomainEvent => ({ type: 'ModelReplied', data: { callId, model: 'a', content: tools.map(([id, name, input]) => ({ type: 'tool_use' as const, id, name, input })), stopReason: 'tool_use', usage, costUsd: 0, settles: false } });

// Positions: the lead's and the child's events interleave in the store's order.
const lead: Array<[bigint, DomainEvent]> = [
  [1n, { type: 'AgentSpawned', data: spawned('lead', null, 10_000) }],
  [2n, { type: 'AgentStarted', data: { deadline: null } }],
  [3n, { type: 'BudgetReserved', data: { reservationId: 'l1', amount: 2000 } }],
  [4n, { type: 'ModelRequested', data: { callId: 'l1', turn: 0, provider: 'p', model: 'a', requestRef: 'r1', reserved: 2000, reserves: false } }],
  [5n, reply('l1', ['tu_spawn', 'spawn_agent', { role: 'helper', task: 't', budget: 1000 }], ['tu_pause', 'pause', {}])],
  [6n, { type: 'BudgetSettled', data: { reservationId: 'l1', consumed: 120, model: 'a', costUsd: 0 } }],
  [7n, { type: 'ToolCalled', data: { toolUseId: 'tu_spawn', name: 'spawn_agent', input: {} } }],
  [8n, { type: 'ToolCalled', data: { toolUseId: 'tu_pause', name: 'pause', input: {} } }],
  [9n, { type: 'ChildSpawned', data: { childId: 'kid', role: 'helper', task: 't', budget: 1000, kind: 'agent', toolUseId: 'tu_spawn', spec: { workspace: null, timeoutMs: null, maxTurns: 5, model: 'a' }, delegatesBudget: true, nodeAttempt: null } }],
  [17n, { type: 'ToolReturned', data: { toolUseId: 'tu_pause', name: 'pause', output: 'rested', isError: false } }],
  [18n, { type: 'ChildFinished', data: { childId: 'kid', status: 'completed', output: 'done', reclaim: { allocated: 1000, returned: 880, spent: 120, overspent: 0 }, completesNode: null } }],
];
const kid: Array<[bigint, DomainEvent]> = [
  [10n, { type: 'AgentSpawned', data: { ...spawned('kid', 'lead', 1000), role: 'helper' } }],
  [11n, { type: 'AgentStarted', data: { deadline: null } }],
  [12n, { type: 'BudgetReserved', data: { reservationId: 'k1', amount: 500 } }],
  [13n, { type: 'ModelRequested', data: { callId: 'k1', turn: 0, provider: 'p', model: 'a', requestRef: 'r2', reserved: 500, reserves: false } }],
  [14n, { type: 'ModelReplied', data: { callId: 'k1', model: 'a', content: [{ type: 'text', text: 'done' }], stopReason: 'end_turn', usage, costUsd: 0, settles: false } }],
  [15n, { type: 'BudgetSettled', data: { reservationId: 'k1', consumed: 120, model: 'a', costUsd: 0 } }],
  [16n, { type: 'AgentCompleted', data: { output: 'done', returned: 880 } }],
];
const stream = (rows: Array<[bigint, DomainEvent]>): SourceStream => ({ events: rows.map(([, e]) => e), positions: rows.map(([p]) => p) });
const input = (atRevision: number, streams = new Map([['lead', stream(lead)], ['kid', stream(kid)]])) => ({
  sourceId: 'lead', atRevision, forkId: 'fork', streams, overrides: {}, parent: null,
  derive: (scope: string, name: string) => `${scope}/${name}`,
  started: (): DomainEvent => ({ type: 'AgentStarted', data: { deadline: null } }),
});
const types = (events: readonly DomainEvent[]) => events.map((e) => e.type);

describe('planFork (pure)', () => {
  it('cuts a child at the lead\'s cut in the store\'s order: ended there, and its end not yet told to the lead', () => {
    const at = lead.findIndex(([, e]) => e.type === 'ToolReturned');
    const [root, child] = planFork(input(at));
    expect(root!.spawned).toMatchObject({ agentId: 'fork', forkedFrom: { sourceId: 'lead', sourceRevision: at, sourcePosition: '17', spentBefore: 120 } });
    // The running spawn_agent call's child keeps the id the fork's runtime derives for that call.
    expect(child!.spawned).toMatchObject({ agentId: 'fork/tu_spawn', parentId: 'fork', rootId: 'fork', depth: 1, forkedFrom: { sourceId: 'kid', sourceRevision: 6, sourcePosition: '16', spentBefore: 120 } });
    expect(types(child!.events)).toEqual(['AgentStarted', 'ModelRequested', 'ModelReplied', 'AgentCompleted']);
    // Nothing was charged to the child's fork: it gives back its whole allocation.
    expect(child!.events.at(-1)!.data).toEqual({ output: 'done', returned: 1000 });
    expect(child!.endUnrecorded).toBe(true);
    expect(root!.events.find((e) => e.type === 'ChildSpawned')!.data).toMatchObject({ childId: 'fork/tu_spawn', budget: 1000, delegatesBudget: true, nodeAttempt: null });
    // Both openings are states the machine accepts.
    expect(foldResting([{ type: 'AgentSpawned', data: root!.spawned }, ...root!.events]).context.children['fork/tu_spawn']?.status).toBe('live');
    expect(foldResting([{ type: 'AgentSpawned', data: child!.spawned }, ...child!.events]).context.result?.status).toBe('completed');
  });

  it('a cut after the lead recorded the end: the lead\'s fork records the child\'s return as its fork\'s ledger has it', () => {
    const [root, child] = planFork(input(lead.length - 1));
    expect(child!.endUnrecorded).toBe(false);
    expect(root!.events.find((e) => e.type === 'ChildFinished')!.data).toMatchObject({ childId: 'fork/tu_spawn', reclaim: { allocated: 1000, returned: 1000, spent: 0, overspent: 0 }, completesNode: null });
  });

  it('a cut before the child began: the child\'s fork opens as it was spawned', () => {
    const at = lead.findIndex(([, e]) => e.type === 'ChildSpawned');
    const [, child] = planFork(input(at));
    expect(child!.spawned.forkedFrom).toMatchObject({ sourceRevision: 0 });
    expect(types(child!.events)).toEqual(['AgentStarted']);
  });

  it('a child whose stream was never opened keeps its parent\'s record: the fork opens it as after a crash', () => {
    const at = lead.findIndex(([, e]) => e.type === 'ToolReturned');
    const openings = planFork(input(at, new Map([['lead', stream(lead)]])));
    expect(openings).toHaveLength(1);
    expect(openings[0]!.events.find((e) => e.type === 'ChildSpawned')!.data).toMatchObject({ childId: 'fork/tu_spawn', spec: { maxTurns: 5 } });
  });

  it('a send_message call the cut left running goes to the fork of the agent it names, never into the source\'s tree', () => {
    const sending = lead.map(([p, e]): [bigint, DomainEvent] => (e.type === 'ToolCalled' && e.data.toolUseId === 'tu_pause' ? [p, { type: 'ToolCalled', data: { toolUseId: 'tu_send', name: 'send_message', input: { to: 'kid', payload: 'hi' } } }] : [p, e]));
    const at = sending.findIndex(([, e]) => e.type === 'ChildSpawned');
    const [root] = planFork(input(at, new Map([['lead', stream(sending)], ['kid', stream(kid)]])));
    expect(root!.events.find((e) => e.type === 'ToolCalled' && e.data.name === 'send_message')!.data).toMatchObject({ input: { to: 'fork/tu_spawn', payload: 'hi' } });
  });

  it('a send_message call the cut left running to an agent outside the subtree is not made: the fork records why', () => {
    const sending = lead.map(([p, e]): [bigint, DomainEvent] => (e.type === 'ToolCalled' && e.data.toolUseId === 'tu_pause' ? [p, { type: 'ToolCalled', data: { toolUseId: 'tu_send', name: 'send_message', input: { to: 'stranger', payload: 'transfer $100' } } }] : [p, e]));
    const at = sending.findIndex(([, e]) => e.type === 'ChildSpawned');
    const [root] = planFork(input(at, new Map([['lead', stream(sending)], ['kid', stream(kid)]])));
    const refused = root!.events.find((e) => e.type === 'ToolReturned')!.data as { toolUseId: string; isError: boolean; output: string };
    expect(refused).toMatchObject({ toolUseId: 'tu_send', isError: true });
    expect(refused.output).toMatch(/not sent: stranger is not an agent of this fork/);
    // The machine takes it: the call is closed, the spawn_agent call still runs.
    const state = foldResting([{ type: 'AgentSpawned', data: root!.spawned }, ...root!.events]).context;
    expect(Object.keys(state.pendingTools)).toEqual(['tu_spawn']);
  });

  it('a cut inside the model reply that ended an agent is refused, saying where to fork instead', () => {
    const kidEvents = kid.map(([, e]) => e);
    expect(() => forkRevision(kidEvents, 4)).toThrow(/fork\.atRevision: revision 4 is inside the model reply that ended the agent \(revisions 4 to 6\): fork at revision 3 or earlier/);
    // At the ending the reply decided, too: it said "fork at revision 5 or earlier", and 5 was refused in turn (a trial's).
    for (const at of [5, 6]) expect(() => forkRevision(kidEvents, at)).toThrow(new RegExp(`revision ${at} is inside the model reply that ended the agent \\(revisions 4 to 6\\): fork at revision 3 or earlier`));
    expect(forkRevision(kidEvents, 3)).toBe(3);
  });

  it('refuses a fork budget below what the source had handed its children, naming fork.budget', () => {
    expect(() => planFork({ ...input(lead.length - 1), overrides: { budget: 900 } })).toThrow(/fork\.budget.*up to 1000 tokens handed to its children at once; give at least 1000/);
    expect(planFork({ ...input(lead.length - 1), overrides: { budget: 1000 } })[0]!.spawned.budget).toBe(1000);
  });
});

describe('replyDecisionEnd (pure)', () => {
  const events = lead.map(([, e]) => e);
  it('moves a cut inside a reply\'s decision to its end, and leaves any other cut', () => {
    const replied = events.findIndex((e) => e.type === 'ModelReplied');
    expect(replyDecisionEnd(events, replied)).toBe(replied + 3); // BudgetSettled, two ToolCalled
    expect(replyDecisionEnd(events, replied + 1)).toBe(replied + 3);
    expect(replyDecisionEnd(events, replied + 3)).toBe(replied + 3);
    expect(replyDecisionEnd(events, replied - 1)).toBe(replied - 1);
    expect(replyDecisionEnd(events, replied + 4)).toBe(replied + 4);
    const kidEvents = kid.map(([, e]) => e);
    expect(replyDecisionEnd(kidEvents, 4)).toBe(6); // its reply ended it
  });

  it('finds the same ends on a stream recorded since ModelRequested v2 and ModelReplied v2 (no BudgetReserved or BudgetSettled)', () => {
    const v2 = (rows: Array<[bigint, DomainEvent]>): DomainEvent[] => rows.map(([, e]) => e)
      .filter((e) => e.type !== 'BudgetReserved' && e.type !== 'BudgetSettled')
      .map((e) => (e.type === 'ModelRequested' ? { ...e, data: { ...e.data, reserves: true } } : e.type === 'ModelReplied' ? { ...e, data: { ...e.data, settles: true } } : e));
    const leadV2 = v2(lead);
    const replied = leadV2.findIndex((e) => e.type === 'ModelReplied');
    expect(replyDecisionEnd(leadV2, replied)).toBe(replied + 2); // two ToolCalled
    expect(replyDecisionEnd(leadV2, replied + 1)).toBe(replied + 2);
    expect(replyDecisionEnd(leadV2, replied - 1)).toBe(replied - 1);
    expect(replyDecisionEnd(v2(kid), 3)).toBe(4); // its reply ended it
  });
});
