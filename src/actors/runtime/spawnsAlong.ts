import type { DomainEvent, EventOf } from '../../events/catalogue.js';
import { parseInput } from '../../validation.js';
import { deadlinePassed } from '../deadline.js';
import { pureTransition } from '../pureTransition.js';
import type { AgentSnapshot } from '../replay.js';
import { SpawnConfigSchema } from '../spawnConfig.js';
import { agentSpawned, recordedSpec } from '../spawnSpec.js';
import type { Alongside } from './commandExecutor.js';
import type { RuntimeContext } from './runtimeContext.js';
import { childSpawnedEvent } from './childSpawnedEvent.js';
import { prepareOpening } from './streamOpening.js';

/** The children a parent spawns in the commit of a decision of its own (its start, or its record of a child's end). */
export interface SpawnsAlong {
  /** The parent's events after its record: each ChildSpawned (a workflow node's starts its node). */
  readonly events: DomainEvent[];
  /** The parent's state after them. */
  readonly next: AgentSnapshot;
  /** Each child's opening (its start and first model call, when a slot is free), in order. */
  readonly openings: Alongside[];
}

/**
 * The spawns the parent's next step would make, decided on its state `after` a decision (its
 * start, or its record of a child's end; `RuntimeContext.nextSpawns`: a workflow's next nodes),
 * so that they ride in that decision's commit: one commit per sequential workflow node instead of
 * two, and none of its own for the first (issue 19). Null when there are
 * none, or when anything about them needs more than a decision (a worktree to make first, a tool
 * to register, a refusal to explain): the parent's next step spawns them as before.
 */
export async function spawnsAlong(rt: RuntimeContext, after: AgentSnapshot): Promise<SpawnsAlong | null> {
  // Closing: a call already sent is let finish and recorded, but nothing new starts (close()).
  if (rt.stopping || rt.closed) return null;
  // Past its deadline a parent starts nothing: its next decision times it out (deadline.ts).
  if (deadlinePassed(after.context, rt.deps.clock.now())) return null;
  const planned = rt.nextSpawns?.(after) ?? [];
  if (planned.length === 0) return null;
  const events: DomainEvent[] = [];
  let next = after;
  for (const p of planned) {
    const id = p.config.id;
    if (rt.opening.has(id) || next.context.children[id]) return null;
    let spawned: EventOf<'ChildSpawned'>;
    try {
      const c = parseInput(SpawnConfigSchema, p.config, 'spawn');
      if (c.tools) return null;
      spawned = childSpawnedEvent(rt, next.context, id, c, p.extra);
    } catch {
      return null; // refused: the parent's step decides it again, and says why
    }
    if (spawned.data.spec?.workspace) return null;
    if (!next.can(spawned)) return null;
    next = pureTransition(rt.effectful, next, spawned)[0];
    events.push(spawned);
  }
  const openings: Alongside[] = [];
  try {
    for (const p of planned) openings.push(await openingAlong(rt, next, p.config.id));
  } catch (err) {
    await Promise.all(openings.map((o) => o.settle(null)));
    rt.deps.logger.warn({ agentId: after.context.id, err }, 'a next child’s opening could not be decided with its parent’s record; the parent’s step spawns it');
    return null;
  }
  return { events, next, openings };
}

/** `childId`'s opening as `parent` records it, marked as being opened here until it settles. */
async function openingAlong(rt: RuntimeContext, parent: AgentSnapshot, childId: string): Promise<Alongside> {
  let done!: () => void;
  rt.opening.set(childId, new Promise<void>((r) => (done = r)));
  const opened = (): void => {
    rt.opening.delete(childId);
    done();
  };
  try {
    const opening = await prepareOpening(rt, agentSpawned(childId, parent.context, recordedSpec(parent.context, childId, rt.deps.config)!), true);
    return {
      append: opening.append,
      async settle(outcome) {
        try {
          await opening.settle(outcome);
        } finally {
          opened();
        }
      },
    };
  } catch (err) {
    opened();
    throw err;
  }
}
