import { expect } from 'vitest';
import { createActor } from 'xstate';
import type { DomainEvent, EventData } from '../../src/events/catalogue.js';
import type { HistoryEvent } from '../../src/events/historyEvent.js';
import { agentMachine, isTerminalStatus, statusOf } from '../../src/actors/agentMachine.js';
import { fold, type AgentState } from '../../src/actors/replay.js';
import type { AgentContext } from '../../src/actors/agentContext.js';

/** What the invariant checks need of a system: its recorded histories and the two state views. */
export interface Inspectable {
  history(agentId: string): Promise<HistoryEvent[]>;
  replay(agentId: string, options?: { toRevision?: bigint | number }): Promise<AgentState>;
  get(agentId: string): { state(): Promise<AgentState> };
  /** The live actor's whole context (transcript, pending call and tools, reservations, children). */
  internal: { runtime: { context(agentId: string): Promise<AgentContext> } };
}

const TERMINAL = new Set(['AgentCompleted', 'AgentFailed', 'AgentTerminated']);

/** Every agent of the tree under `rootId`, parents before children, as the root's stream records it. */
export async function treeOf(sys: Inspectable, rootId: string): Promise<string[]> {
  const ids: string[] = [];
  const queue = [rootId];
  for (let id = queue.shift(); id; id = queue.shift()) {
    ids.push(id);
    const h = await sys.history(id).catch(() => null);
    if (!h) continue; // a ChildSpawned whose stream never opened: reported by checkStreams
    for (const e of h) if (e.type === 'ChildSpawned') queue.push(e.data.childId);
  }
  return ids;
}

export interface StreamFacts {
  readonly histories: Map<string, HistoryEvent[]>;
  /** Raw balance (`allocated − consumed − reserved − delegated − spentBySubtree`) after the last event. */
  readonly finalRaw: Map<string, number>;
}

/** What an event returns of a child's budget: a ChildFinished v2's own reclaim, or a BudgetReclaimed (after a v1). */
function reclaimIn(e: HistoryEvent): { readonly returned: number; readonly overspent: number } | null {
  if (e.type === 'BudgetReclaimed') return e.data as { returned: number; overspent: number };
  if (e.type === 'ChildFinished') return (e.data as { reclaim: { returned: number; overspent: number } | null }).reclaim;
  return null;
}

/**
 * Checks every stream of `ids` event by event:
 * - revisions 0..n-1 without gaps, event ids unique across all streams (nothing lost or doubled);
 * - each recorded event is one the machine accepts at that point (the store holds only accepted
 *   transitions), and no agent's balance is negative at any revision;
 * - at most one terminal event per stream; every recorded intent answered at most once: one
 *   ModelReplied/ModelFailed per ModelRequested callId, one ToolReturned per toolUseId, one
 *   ChildFinished and one reclaim per child (ChildFinished v2's own, or a BudgetReclaimed after a v1).
 */
export async function checkStreams(sys: Inspectable, ids: readonly string[]): Promise<StreamFacts> {
  const histories = new Map<string, HistoryEvent[]>();
  const finalRaw = new Map<string, number>();
  const seenIds = new Set<string>();
  for (const id of ids) {
    const h = await sys.history(id);
    histories.set(id, h);
    h.forEach((e, i) => {
      expect(e.revision, `${id} revision`).toBe(i);
      expect(seenIds.has(e.id), `event id ${e.id} doubled`).toBe(false);
      seenIds.add(e.id);
    });
    expect(h[0]!.type).toBe('AgentSpawned');
    const actor = createActor(agentMachine, { input: h[0]!.data as EventData<'AgentSpawned'> }).start();
    const answered = new Map<string, number>();
    const bump = (k: string): void => void answered.set(k, (answered.get(k) ?? 0) + 1);
    let terminals = 0;
    // Below zero only through an overspend the stream records: its own, or a child's it was charged.
    const overspendRecorded = h.some((e) => e.type === 'BudgetOverspent' || (reclaimIn(e)?.overspent ?? 0) > 0);
    for (const e of h.slice(1)) {
      const ev = { type: e.type, data: e.data } as DomainEvent;
      const snap = actor.getSnapshot();
      expect(snap.can(ev), `${id}@${e.revision} ${e.type} accepted in ${JSON.stringify(snap.value)}`).toBe(true);
      actor.send(ev);
      const b = actor.getSnapshot().context.budget;
      const raw = b.allocated - b.consumed - b.reserved - b.delegated - b.spentBySubtree;
      if (!overspendRecorded) expect(raw, `${id}@${e.revision} balance`).toBeGreaterThanOrEqual(0);
      if (TERMINAL.has(e.type)) terminals++;
      if (e.type === 'ModelReplied' || e.type === 'ModelFailed') bump(`call:${e.data.callId}`);
      if (e.type === 'ToolReturned') bump(`tool:${e.data.toolUseId}`);
      if (e.type === 'ChildFinished') bump(`finished:${e.data.childId}`);
      if (reclaimIn(e)) bump(`reclaimed:${(e.data as { childId: string }).childId}`);
      if (e.type === 'ChildSpawned') bump(`spawned:${e.data.childId}`);
    }
    expect(terminals, `${id} terminal events`).toBeLessThanOrEqual(1);
    for (const [k, n] of answered) expect(n, `${id} ${k}`).toBe(1);
    const b = actor.getSnapshot().context.budget;
    finalRaw.set(id, b.allocated - b.consumed - b.reserved - b.delegated - b.spentBySubtree);
    actor.stop();
  }
  return { histories, finalRaw };
}

/**
 * The state folded from the stored events equals the live state, at the live revision: the
 * user-facing view and the whole context behind it (transcript, pending call, pending tools,
 * reservations, delegations, children, workspace…), which is what the runtime decides from.
 */
export async function checkLiveEqualsReplay(sys: Inspectable, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const { state: live, context } = await liveAt(sys, id);
    const replayed = await sys.replay(id, { toRevision: live.revision });
    expect(replayed, `replay of ${id} at ${live.revision}`).toEqual(live);
    const events = (await sys.history(id)).filter((e) => e.revision <= live.revision).map((e) => ({ type: e.type, data: e.data }) as DomainEvent);
    expect(fold(events).context, `whole context of ${id} replayed at ${live.revision}`).toEqual(context);
  }
}

/** The live view and context of one revision: read until no event landed between the reads. */
async function liveAt(sys: Inspectable, id: string): Promise<{ state: AgentState; context: AgentContext }> {
  for (;;) {
    const state = await sys.get(id).state();
    const context = await sys.internal.runtime.context(id);
    if ((await sys.get(id).state()).revision === state.revision) return { state, context };
  }
}

/**
 * A tree at rest: every agent terminal exactly once, every child's end recorded by its parent
 * with what the child really returned and overspent, and `root.allocated + root.overspent =
 * Σ consumed + root.available`.
 */
export async function checkTreeAtRest(sys: Inspectable, rootId: string): Promise<{ ids: string[]; consumed: number }> {
  const ids = await treeOf(sys, rootId);
  const { histories } = await checkStreams(sys, ids);
  let consumed = 0;
  const states = new Map<string, AgentState>();
  for (const id of ids) {
    const s = await sys.replay(id);
    states.set(id, s);
    expect(isTerminalStatus(s.status), `${id} is ${s.status}`).toBe(true);
    expect(histories.get(id)!.filter((e) => TERMINAL.has(e.type))).toHaveLength(1);
    expect(s.budget.reserved).toBe(0);
    expect(s.budget.delegated).toBe(0);
    consumed += s.budget.consumed;
    expect(await sys.get(id).state()).toEqual(s);
  }
  await checkLiveEqualsReplay(sys, ids);
  // What each parent reclaimed is exactly what the child said it returned.
  for (const id of ids) {
    const h = histories.get(id)!;
    const end = h.find((e) => TERMINAL.has(e.type))!;
    const returned = (end.data as { returned: number }).returned;
    const s = states.get(id)!;
    expect(returned, `${id} returned its available`).toBe(s.budget.available);
    if (s.parentId) {
      const reclaim = histories.get(s.parentId)!.filter((e) => (e.data as { childId?: string }).childId === id).map(reclaimIn).find((r) => r !== null);
      expect(reclaim, `${s.parentId} reclaimed ${id}`).toBeDefined();
      expect(reclaim!.returned).toBe(returned);
      expect(reclaim!.overspent, `${s.parentId} charged ${id}'s overspend`).toBe(s.budget.overspent);
    }
  }
  const root = states.get(rootId)!;
  expect(root.budget.allocated + root.budget.overspent, 'conservation').toBe(consumed + root.budget.available);
  return { ids, consumed };
}

export const isTerminalState = (s: AgentState): boolean => isTerminalStatus(s.status);
export { statusOf };
