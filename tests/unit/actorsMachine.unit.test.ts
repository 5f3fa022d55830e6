import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createActor, initialTransition, transition } from 'xstate';
import type { DomainEvent, EventData } from '../../src/events/catalogue.js';
import { agentMachine, statusOf } from '../../src/actors/agentMachine.js';
import { evolve, initialContext, liveChildren } from '../../src/actors/agentContext.js';
import { completionEvents, failureEvents, terminationEvents, afterReply } from '../../src/actors/agentDecisions.js';
import { fold, foldResting, persistable, restoreSnapshot, stateView, type AgentSnapshot } from '../../src/actors/replay.js';
import { available } from '../../src/actors/budget.js';

const spawned = (over: Partial<EventData<'AgentSpawned'>> = {}): EventData<'AgentSpawned'> => ({
  agentId: 'a1',
  parentId: null,
  rootId: 'a1',
  depth: 0,
  kind: 'agent',
  role: 'lead',
  task: 'do it',
  budget: 1000,
  workspace: null,
  timeoutMs: null,
  maxTurns: 10,
  model: null,
  ...over,
});

const usage = (input: number, output: number) => ({ inputTokens: input, outputTokens: output, cacheReadTokens: 0, cacheCreationTokens: 0 });
const E = <T extends DomainEvent['type']>(type: T, data: Extract<DomainEvent, { type: T }>['data']): DomainEvent => ({ type, data }) as DomainEvent;

/** Applies events with the pure `transition`, refusing any the machine would not accept. */
function step(s: AgentSnapshot, ...events: DomainEvent[]): AgentSnapshot {
  for (const e of events) {
    if (!s.can(e)) throw new Error(`refused ${e.type} in ${JSON.stringify(s.value)}`);
    s = transition(agentMachine, s, e)[0];
  }
  return s;
}

const start = (over: Partial<EventData<'AgentSpawned'>> = {}): AgentSnapshot => initialTransition(agentMachine, spawned(over))[0];
const running = (over: Partial<EventData<'AgentSpawned'>> = {}): AgentSnapshot => step(start(over), E('AgentRunRequested', {}), E('AgentStarted', { deadline: null }));
/** A model request as recorded now (v2, holding its reservation), or as v1 was: a BudgetReserved before it. */
const request = (callId: string, turn: number, reserved: number, shape: 'v1' | 'v2' = 'v2'): DomainEvent[] => {
  const asked = (reserves: boolean) => E('ModelRequested', { callId, turn, provider: 'scripted', model: 'm', requestRef: `sha256:${'0'.repeat(64)}`, reserved, reserves });
  return shape === 'v2' ? [asked(true)] : [E('BudgetReserved', { reservationId: callId, amount: reserved }), asked(false)];
};
const reply = (callId: string, text = 'ok', over: Partial<EventData<'ModelReplied'>> = {}) =>
  E('ModelReplied', { callId, model: 'm', content: [{ type: 'text', text }], stopReason: 'end_turn', usage: usage(10, 5), costUsd: 0, settles: true, ...over });

describe('an agent started in its opening (AgentSpawned `started`, issue 19)', () => {
  const deadline = '2026-03-01T00:10:00.000Z';
  const old = [E('AgentSpawned', spawned({ timeoutMs: 600_000 })), E('AgentStarted', { deadline })];
  const lean = [E('AgentSpawned', spawned({ timeoutMs: 600_000, started: { deadline } }))];
  const next = [...request('k', 0, 100), reply('k', 'done')];

  it('is running from its first event, in the state AgentSpawned then AgentStarted reach, by every way of folding', () => {
    for (const f of [fold, foldResting]) {
      const before = f(old);
      const now = f(lean);
      expect(statusOf(now.value), f.name).toBe('running');
      expect(now.value, f.name).toEqual(before.value);
      expect(now.context, f.name).toEqual(before.context);
      expect(now.context).toMatchObject({ started: true, runRequested: true, deadline });
      // ... and every later event is accepted and lands alike.
      expect(f([...lean, ...next]).context, f.name).toEqual(f([...old, ...next]).context);
    }
    const live = step(initialTransition(agentMachine, lean[0]!.data as EventData<'AgentSpawned'>)[0], ...next);
    expect(live.context).toEqual(fold([...old, ...next]).context);
  });

  it('refuses a second start, as a started agent always has', () => {
    expect(fold(lean).can(E('AgentStarted', { deadline: null }))).toBe(false);
    expect(fold(lean).can(E('AgentRunRequested', {}))).toBe(false);
  });

  it('one not started there waits in `spawned` as before', () => {
    expect(fold([E('AgentSpawned', spawned())]).value).toBe('spawned');
    expect(foldResting([E('AgentSpawned', spawned())]).value).toBe('spawned');
  });
});

describe('agent machine acceptance rules', () => {
  it('refuses a reservation over the available balance', () => {
    const s = running();
    expect(s.can(E('BudgetReserved', { reservationId: 'r', amount: 1001 }))).toBe(false);
    expect(s.can(E('BudgetReserved', { reservationId: 'r', amount: 1000 }))).toBe(true);
    const held = step(s, E('BudgetReserved', { reservationId: 'r1', amount: 600 }));
    expect(held.can(E('BudgetReserved', { reservationId: 'r2', amount: 401 }))).toBe(false);
    expect(held.can(E('BudgetReserved', { reservationId: 'r2', amount: 400 }))).toBe(true);
  });

  it('refuses a request whose reservation is over the available balance (ModelRequested v2 reserves it)', () => {
    const s = running();
    expect(s.can(request('r', 0, 1001)[0]!)).toBe(false);
    expect(s.can(request('r', 0, 1000)[0]!)).toBe(true);
    // A v1 request reserves nothing itself: its BudgetReserved before it was the check.
    expect(s.can(request('r', 0, 5000, 'v1')[1]!)).toBe(true);
    const held = step(s, ...request('r1', 0, 600));
    expect(held.context.budget).toMatchObject({ reserved: 600, reservations: { r1: 600 } });
  });

  it('a request and reply of v2 move the budget as the v1 pair with BudgetReserved and BudgetSettled did', () => {
    const v1 = step(running(), ...request('k', 0, 400, 'v1'), reply('k', 'ok', { costUsd: 0.25, settles: false }), E('BudgetSettled', { reservationId: 'k', consumed: 15, model: 'm', costUsd: 0.25 }));
    const v2 = step(running(), ...request('k', 0, 400), reply('k', 'ok', { costUsd: 0.25 }));
    expect(v2.context.budget).toEqual(v1.context.budget);
    expect(v2.context.budget).toMatchObject({ consumed: 15, reserved: 0, reservations: {} });
    expect(v2.context.costUsd).toBe(0.25);
    expect(v2.value).toEqual(v1.value);
  });

  it('refuses a spawn whose budget is over the available balance (ChildSpawned v3 delegates it)', () => {
    const s = start();
    const spawn = (id: string, amount: number) => E('ChildSpawned', { childId: id, role: 'w', task: 't', budget: amount, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null });
    const one = step(s, spawn('c1', 700));
    expect(one.context.budget.delegated).toBe(700);
    expect(one.can(spawn('c2', 301))).toBe(false);
    expect(step(one, spawn('c2', 300)).context.budget.delegated).toBe(1000);
  });

  it('replays a v1 or v2 spawn, whose BudgetDelegated came after it, to the same balance and refusals', () => {
    const s = start();
    const spawn = (id: string, amount: number) => [
      E('ChildSpawned', { childId: id, role: 'w', task: 't', budget: amount, kind: 'agent', spec: null, delegatesBudget: false, nodeAttempt: null }),
      E('BudgetDelegated', { childId: id, amount }),
    ];
    // The record alone hands nothing over: its BudgetDelegated does.
    expect(step(s, spawn('c0', 700)[0]!).context.budget.delegated).toBe(0);
    const one = step(s, ...spawn('c1', 700));
    expect(one.can(spawn('c2', 301)[1]!)).toBe(false);
    expect(step(one, ...spawn('c2', 300)).context.budget.delegated).toBe(1000);
  });

  it('refuses to end with live children or open reservations', () => {
    const withChild = step(running(), E('ChildSpawned', { childId: 'c1', role: 'w', task: 't', budget: 100, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null }));
    expect(statusOf(withChild.value)).toBe('waiting');
    expect(withChild.can(E('AgentTerminated', { reason: 'x', by: null, returned: 0 }))).toBe(false);
    expect(withChild.can(E('AgentFailed', { reason: 'x', cause: 'error', partialOutput: null, returned: 0 }))).toBe(false);
    const finished = step(withChild, E('ChildFinished', { childId: 'c1', status: 'completed', output: 'done', reclaim: { allocated: 100, returned: 40, spent: 60, overspent: 0 }, completesNode: null }));
    expect(finished.value).toEqual({ running: 'active' });
    expect(finished.can(E('AgentCompleted', { output: 'x', returned: 0 }))).toBe(true);

    const reserving = step(running(), E('BudgetReserved', { reservationId: 'r', amount: 10 }));
    expect(reserving.can(E('AgentCompleted', { output: 'x', returned: 0 }))).toBe(false);
    expect(reserving.can(E('AgentTerminated', { reason: 'x', by: null, returned: 0 }))).toBe(false);
    const released = step(reserving, E('BudgetReleased', { reservationId: 'r', reason: 'x' }));
    expect(released.can(E('AgentCompleted', { output: 'x', returned: 0 }))).toBe(true);
  });

  it('refuses a reply or failure for a call that is not the current one', () => {
    const waiting = step(running(), ...request('call-0', 0, 100));
    expect(statusOf(waiting.value)).toBe('waiting');
    expect(waiting.can(reply('call-stale'))).toBe(false);
    expect(waiting.can(E('ModelFailed', { callId: 'call-stale', error: 'x', retryable: false }))).toBe(false);
    expect(waiting.can(reply('call-0'))).toBe(true);
    const answered = step(waiting, reply('call-0'));
    // The same reply twice is refused: the call is no longer pending.
    expect(answered.can(reply('call-0'))).toBe(false);
  });

  it('refuses a ChildFinished for an unknown or already finished child, and tool results nobody asked for', () => {
    const s = step(start(), E('ChildSpawned', { childId: 'c1', role: 'w', task: 't', budget: 100, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null }));
    expect(s.can(E('ChildFinished', { childId: 'nope', status: 'completed', output: null, reclaim: null, completesNode: null }))).toBe(false);
    const done = step(s, E('ChildFinished', { childId: 'c1', status: 'failed', output: null, reclaim: { allocated: 100, returned: 100, spent: 0, overspent: 0 }, completesNode: null }));
    expect(done.can(E('ChildFinished', { childId: 'c1', status: 'failed', output: null, reclaim: null, completesNode: null }))).toBe(false);
    const toolReply = E('ModelReplied', { callId: 'k', model: 'm', content: [{ type: 'tool_use', id: 't1', name: 'finish', input: { output: 'x' } }], stopReason: 'tool_use', usage: usage(1, 1), costUsd: 0, settles: true });
    const using = step(running(), ...request('k', 0, 100), toolReply, E('ToolCalled', { toolUseId: 't1', name: 'finish', input: { output: 'x' } }));
    expect(using.value).toEqual({ running: 'usingTools' });
    expect(using.can(E('ToolReturned', { toolUseId: 't9', name: 'finish', output: 'x', isError: false }))).toBe(false);
    expect(step(using, E('ToolReturned', { toolUseId: 't1', name: 'finish', output: 'x', isError: false })).value).toEqual({ running: 'active' });
  });

  it('a terminal agent accepts no further lifecycle or budget event', () => {
    const ended = step(running(), ...completionEvents(running().context, 'out'));
    expect(statusOf(ended.value)).toBe('completed');
    for (const e of [E('AgentStarted', { deadline: null }), E('BudgetReserved', { reservationId: 'r', amount: 1 }), E('AgentTerminated', { reason: 'x', by: null, returned: 0 }), E('ChildSpawned', { childId: 'c', role: 'w', task: '', budget: 1, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null })]) {
      expect(ended.can(e)).toBe(false);
    }
  });

  it('the deciders release open reservations before ending, so the machine accepts the end', () => {
    const held = step(running(), E('BudgetReserved', { reservationId: 'r1', amount: 300 }), E('BudgetReserved', { reservationId: 'r2', amount: 200 }));
    for (const events of [terminationEvents(held.context, 'x', null), failureEvents(held.context, 'error', 'x'), completionEvents(held.context, 'x')]) {
      const end = step(held, ...events);
      expect(end.context.budget.reserved).toBe(0);
      expect(end.context.result!.status).toBe(statusOf(end.value));
      const last = events[events.length - 1]!;
      expect((last.data as { returned: number }).returned).toBe(1000);
    }
  });

  it('afterReply settles with the real usage and completes when nothing is left to do', () => {
    const waiting = step(running(), ...request('c0', 0, 400));
    const events = afterReply(waiting.context, 'c0', { model: 'm', content: [{ type: 'text', text: 'fine' }], stopReason: 'end_turn', usage: usage(100, 23) }, 0.5);
    expect(events.map((e) => e.type)).toEqual(['ModelReplied', 'AgentCompleted']);
    expect(events[0]!.data).toMatchObject({ settles: true });
    const end = step(waiting, ...events);
    expect(end.context.budget).toMatchObject({ consumed: 123, reserved: 0 });
    expect(end.context.result).toMatchObject({ status: 'completed', output: 'fine' });
    expect((events[1]!.data as { returned: number }).returned).toBe(1000 - 123);
    expect(end.context.costUsd).toBe(0.5);
  });

  it('afterReply fails the agent on a refusal, charged for the call, rather than completing with the refusal as its output', () => {
    const waiting = step(running(), ...request('c0', 0, 400));
    const events = afterReply(waiting.context, 'c0', { model: 'm', content: [{ type: 'text', text: 'no' }], stopReason: 'refusal', usage: usage(100, 2) }, 0.1);
    expect(events.map((e) => e.type)).toEqual(['ModelReplied', 'AgentFailed']);
    const end = step(waiting, ...events);
    expect(end.context.result).toMatchObject({ status: 'failed', cause: 'model_error', reason: 'the model refused to answer: no' });
    expect(end.context.budget).toMatchObject({ consumed: 102, reserved: 0 });
  });
});

describe('evolve', () => {
  it('is pure: it never mutates its input', () => {
    const c0 = initialContext(spawned());
    const frozen = JSON.stringify(c0);
    const c1 = evolve(c0, E('ChildSpawned', { childId: 'c1', role: 'w', task: 't', budget: 10, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null }));
    expect(JSON.stringify(c0)).toBe(frozen);
    expect(liveChildren(c1)).toEqual(['c1']);
  });

  it('tracks turns, pending calls, tool results and the transcript', () => {
    let c = initialContext(spawned());
    c = evolve(c, E('ModelRequested', { callId: 'k0', turn: 0, provider: 'p', model: 'm', requestRef: 'x', reserved: 50, reserves: false }));
    expect(c.turn).toBe(1);
    expect(c.pendingCall?.callId).toBe('k0');
    c = evolve(c, E('ModelReplied', { callId: 'k0', model: 'm', content: [{ type: 'text', text: ' hi ' }, { type: 'tool_use', id: 't1', name: 'a', input: {} }, { type: 'tool_use', id: 't2', name: 'b', input: {} }], stopReason: 'tool_use', usage: usage(1, 1), costUsd: 0, settles: false }));
    expect(c.pendingCall).toBeNull();
    expect(c.lastText).toBe('hi');
    c = evolve(c, E('ToolCalled', { toolUseId: 't1', name: 'a', input: {} }));
    c = evolve(c, E('ToolCalled', { toolUseId: 't2', name: 'b', input: {} }));
    c = evolve(c, E('ToolReturned', { toolUseId: 't2', name: 'b', output: 'B', isError: false }));
    expect(Object.keys(c.pendingTools)).toEqual(['t1']);
    expect(c.transcript).toHaveLength(1);
    c = evolve(c, E('ToolReturned', { toolUseId: 't1', name: 'a', output: 'A', isError: true }));
    expect(c.turnResults).toEqual([]);
    expect(c.transcript[1]).toEqual({ kind: 'tool_results', results: [{ toolUseId: 't2', output: 'B', isError: false }, { toolUseId: 't1', output: 'A', isError: true }] });
  });

  it('records a child once and its end with the reclaim', () => {
    let c = initialContext(spawned({ budget: 500 }));
    c = evolve(c, E('ChildSpawned', { childId: 'c1', role: 'w', task: 't', budget: 200, kind: 'agent', toolUseId: 'tu', spec: null, delegatesBudget: true, nodeAttempt: null }));
    const spawned1 = c;
    c = evolve(c, E('ChildFinished', { childId: 'c1', status: 'terminated', output: null, reclaim: { allocated: 200, returned: 150, spent: 50, overspent: 0 }, completesNode: null }));
    expect(c.children.c1).toMatchObject({ status: 'terminated', toolUseId: 'tu' });
    expect(c.budget).toMatchObject({ delegated: 0, spentBySubtree: 50, reclaimed: 150 });
    expect(available(c.budget)).toBe(450);
    expect(evolve(c, E('ChildFinished', { childId: 'ghost', status: 'failed', output: null, reclaim: null, completesNode: null }))).toBe(c);
    // A v1 record (reclaim null) and the BudgetReclaimed after it come to the same balance.
    const v1 = evolve(evolve(spawned1, E('ChildFinished', { childId: 'c1', status: 'terminated', output: null, reclaim: null, completesNode: null })), E('BudgetReclaimed', { childId: 'c1', allocated: 200, returned: 150, spent: 50, overspent: 0 }));
    expect(v1.budget).toEqual(c.budget);
  });
});

// ------------------------------------------------------------------ fold = step-by-step

/** A random but always-acceptable history: what a well-behaved runtime would record. */
function randomHistory(seed: number, length: number): DomainEvent[] {
  let x = seed >>> 0 || 1;
  const rnd = (n: number): number => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
  let s = start({ budget: 50_000 });
  const events: DomainEvent[] = [];
  const push = (...es: DomainEvent[]): void => {
    for (const e of es) {
      if (!s.can(e)) return;
      s = transition(agentMachine, s, e)[0];
      events.push(e);
    }
  };
  push(E('AgentRunRequested', {}), E('AgentStarted', { deadline: null }));
  const pendingV2 = new Set<string>();
  let k = 0;
  for (let i = 0; i < length && !['completed', 'failed', 'terminated'].includes(statusOf(s.value)); i++) {
    const c = s.context;
    const sub = typeof s.value === 'object' ? (s.value as { running: string }).running : '';
    const live = liveChildren(c);
    const choice = rnd(6);
    if (choice === 0) {
      const id = `c${k++}`;
      const amount = rnd(3000);
      push(E('ChildSpawned', { childId: id, role: 'w', task: 't', budget: amount, kind: 'agent', spec: null, delegatesBudget: true, nodeAttempt: null }));
    } else if (choice === 1 && live.length > 0) {
      const id = live[rnd(live.length)]!;
      const given = c.children[id]!.budget;
      const returned = rnd(given + 1);
      push(E('ChildFinished', { childId: id, status: (['completed', 'failed', 'terminated'] as const)[rnd(3)]!, output: null, reclaim: { allocated: given, returned, spent: given - returned, overspent: 0 }, completesNode: null }));
    } else if (sub === 'active') {
      const id = `k${k++}`;
      const amount = 1 + rnd(Math.max(1, available(c.budget)));
      const shape = rnd(2) === 0 ? 'v1' : 'v2';
      if (shape === 'v2') pendingV2.add(id);
      push(...request(id, c.turn, Math.min(amount, available(c.budget)), shape));
    } else if (sub === 'awaitingModel' && c.pendingCall) {
      const used = rnd(c.pendingCall.reserved + 1);
      const tools = rnd(2) === 0;
      // Settled as the request was recorded: by the reply itself (v2), or by a BudgetSettled after it (v1).
      const settles = pendingV2.has(c.pendingCall.callId);
      push(E('ModelReplied', { callId: c.pendingCall.callId, model: 'm', content: tools ? [{ type: 'tool_use', id: `t${k}`, name: 'x', input: {} }] : [{ type: 'text', text: `r${k}` }], stopReason: tools ? 'tool_use' : 'end_turn', usage: usage(used, 0), costUsd: 0, settles }));
      if (!settles) push(E('BudgetSettled', { reservationId: c.pendingCall.callId, consumed: used, model: 'm', costUsd: 0 }));
      pendingV2.delete(c.pendingCall.callId);
      if (tools) push(E('ToolCalled', { toolUseId: `t${k}`, name: 'x', input: {} }));
    } else if (sub === 'usingTools') {
      for (const t of Object.keys(c.pendingTools)) push(E('ToolReturned', { toolUseId: t, name: 'x', output: 'o', isError: false }));
    } else if (choice === 5 && live.length === 0) {
      push(...(rnd(2) === 0 ? completionEvents(c, 'done') : failureEvents(c, 'error', 'x')));
    }
  }
  return events;
}

describe('foldResting (recovery fast path)', () => {
  it('equals the machine fold for every history that ends on a batch boundary', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 60 }), (seed, length) => {
        const all: DomainEvent[] = [E('AgentSpawned', spawned({ budget: 50_000 })), ...randomHistory(seed, length)];
        const slow = fold(all);
        const fast = foldResting(all);
        expect(fast.value).toEqual(slow.value);
        expect(fast.context).toEqual(slow.context);
        const cut = Math.max(1, Math.floor(all.length / 2));
        const mid = restoreSnapshot(JSON.parse(JSON.stringify(persistable(fold(all.slice(0, cut))))));
        expect(foldResting(all.slice(cut), mid).context).toEqual(slow.context);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fold', () => {
  it('equals applying transition() event by event, and a snapshot restored midway folds to the same state', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (seed, length, cut) => {
        const history = randomHistory(seed, length);
        const all: DomainEvent[] = [E('AgentSpawned', spawned({ budget: 50_000 })), ...history];
        const stepped = step(start({ budget: 50_000 }), ...history);
        const folded = fold(all);
        expect(folded.value).toEqual(stepped.value);
        expect(folded.context).toEqual(stepped.context);
        expect(stateView(folded, 0n)).toEqual(stateView(stepped, 0n));
        // Snapshot at a random point, persisted as JSON and restored, then fold the rest.
        const at = 1 + (cut % all.length);
        const mid = restoreSnapshot(JSON.parse(JSON.stringify(persistable(fold(all.slice(0, at))))));
        const resumed = fold(all.slice(at), mid);
        expect(resumed.value).toEqual(stepped.value);
        expect(resumed.context).toEqual(stepped.context);
      }),
      { numRuns: 40 },
    );
  });

  it('folds with effect actions that never run (replay never calls the model), even from a snapshot of a machine that has them', () => {
    // The runtime's actors run a machine with real effects; their snapshots carry that machine.
    // fold(events, from) must re-home such a snapshot on the effect-free machine.
    const ran: string[] = [];
    const effect = (name: string) => () => { ran.push(name); };
    const counting = agentMachine.provide({ actions: {
      startRun: effect('startRun'), decideNext: effect('decideNext'), callModel: effect('callModel'), runTools: effect('runTools'),
      awaitChildren: effect('awaitChildren'), childFinished: effect('childFinished'), agentEnded: effect('agentEnded'),
    } });
    const first = [E('AgentRunRequested', {}), E('AgentStarted', { deadline: null }), ...request('k', 0, 10)];
    const settle = (id: string) => E('BudgetSettled', { reservationId: id, consumed: 15, model: 'm', costUsd: 0 });
    const more = [reply('k'), settle('k'), ...request('k2', 1, 10), reply('k2', 'done'), settle('k2'), E('AgentCompleted', { output: 'done', returned: 970 })];
    const live = createActor(counting, { input: spawned() }).start();
    for (const e of first) live.send(e);
    expect(ran).toContain('callModel');
    const atRest = live.getSnapshot();

    const before = ran.length;
    const folded = fold(more, atRest);
    expect(ran.length).toBe(before);
    const whole = fold([E('AgentSpawned', spawned()), ...first, ...more]);
    expect(ran.length).toBe(before);

    for (const e of more) live.send(e);
    expect(ran.slice(before)).toEqual(expect.arrayContaining(['callModel', 'agentEnded']));
    expect(folded.value).toEqual('completed');
    expect(folded.context).toEqual(live.getSnapshot().context);
    expect(whole.context).toEqual(live.getSnapshot().context);
    live.stop();
  });

  it('refuses a stream that does not open with AgentSpawned', () => {
    expect(() => fold([E('AgentRunRequested', {})])).toThrow(/AgentSpawned/);
  });
});
