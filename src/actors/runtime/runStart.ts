import type { DomainEvent, EventData } from '../../events/catalogue.js';
import type { AgentContext } from '../agentContext.js';
import { isTerminalStatus, statusOf } from '../agentMachine.js';
import { pureTransition } from '../pureTransition.js';
import { execute, type Alongside } from './commandExecutor.js';
import { hostsHere, type RuntimeContext } from './runtimeContext.js';
import { spawnsAlong } from './spawnsAlong.js';

/** The start of a run: its deadline counts from now. */
export function startedEvent(rt: RuntimeContext, c: AgentContext): DomainEvent {
  return { type: 'AgentStarted', data: startOfRun(rt, c.timeoutMs) };
}

/** What a start records (AgentStarted's data, or AgentSpawned's `started`): a deadline `timeoutMs` from now. */
export function startOfRun(rt: RuntimeContext, timeoutMs: number | null): EventData<'AgentStarted'> {
  return { deadline: timeoutMs ? new Date(rt.deps.clock.now().getTime() + timeoutMs).toISOString() : null };
}

/**
 * A concurrency slot for an agent this process is about to start in the same append as its run
 * request, if one is free now (never ahead of agents queued for one). `undo` gives it back when
 * the append did not start the agent after all; a started agent keeps it.
 */
export function slotForStart(rt: RuntimeContext, id: string, hosted: boolean): { taken: boolean; undo: () => void } {
  const had = rt.slots.holds(id);
  const taken = hosted && !rt.stopping && !rt.closed && rt.slots.tryAcquire(id);
  return {
    taken,
    undo: () => {
      if (!taken || had) return;
      const actor = rt.actors.get(id);
      const status = actor ? statusOf(actor.snapshot.value) : 'spawned';
      if (status === 'spawned' || isTerminalStatus(status)) rt.slots.release(id);
    },
  };
}

/**
 * Records the run request (once); whichever process holds the agent's lease runs it. Where that
 * is this process and a slot is free, the start alone is recorded (it is the request too: one
 * event, one commit); otherwise the request, and the `startRun` effect records the start once a
 * slot frees up.
 */
export async function requestRun(rt: RuntimeContext, id: string, causationId: string): Promise<void> {
  const slot = slotForStart(rt, id, hostsHere(rt, id));
  // Started here: what its first step spawns (a workflow's first nodes) rides in the start's commit.
  let spawns: Alongside[] = [];
  try {
    await execute(rt, id, async (s) => {
      if (statusOf(s.value) !== 'spawned' || s.context.runRequested) return [];
      if (!slot.taken) return [{ type: 'AgentRunRequested', data: {} } as DomainEvent];
      const started = startedEvent(rt, s.context);
      // Only a workflow's start spawns anything: no transition to ask about for other agents.
      const along = s.context.kind === 'workflow' ? await spawnsAlong(rt, pureTransition(rt.effectful, s, started)[0]) : null;
      spawns = along?.openings ?? [];
      return [started, ...(along?.events ?? [])];
    }, { causationId, alongside: async () => spawns });
  } finally {
    // Refused before its append was sent, or cut at the deadline (deadline.ts): the openings
    // decided for it were not sent either (a no-op for those settled).
    await Promise.all(spawns.map((o) => o.settle(null)));
    slot.undo();
  }
}
