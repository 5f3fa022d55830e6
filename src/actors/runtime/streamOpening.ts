import { eventSchemas, type DomainEvent, type EventData } from '../../events/catalogue.js';
import type { EventToAppend } from '../../events/envelope.js';
import { leanMetadata } from '../../events/metadata.js';
import type { AppendOutcome, StreamAppend } from '../../events/eventStore.js';
import { sentOrNull } from '../../events/appendChain.js';
import { appendChainOwn, appendOwn } from './ownWrites.js';
import { IdempotencyConflict, InvalidInput, InvalidTransition, isWrongExpectedRevision } from '../../errors.js';
import { agentMachine } from '../agentMachine.js';
import { LiveActor } from '../liveActor.js';
import { pureTransition } from '../pureTransition.js';
import { withoutSecrets } from './callerSecrets.js';
import { foldResting, type AgentSnapshot } from '../replay.js';
import { agentStream } from '../streams.js';
import { adopt } from './actorCache.js';
import type { Alongside } from './commandExecutor.js';
import { turnEvents } from './modelTurn.js';
import { attachmentsOf } from './attachments.js';
import { slotForStart, startedEvent, startOfRun } from './runStart.js';
import type { RuntimeContext } from './runtimeContext.js';

/** An agent stream's opening, decided and waiting for its append. */
export interface PreparedOpening {
  readonly append: StreamAppend;
  /**
   * Once, with the append's outcome, or null when it was not sent (the decision it rode with was
   * refused or decided again): takes up the opened agent, or gives back what was held for it.
   */
  settle(outcome: AppendOutcome | null): Promise<void>;
  /** Other streams' openings that ride in its commit, after it (a workflow's first nodes): settled by whoever sends the append (appendOpening). */
  readonly along: readonly Alongside[];
}

/**
 * What an agent started in its opening spawns at once, decided on its state after the start: the
 * parent's ChildSpawned events and the children's openings (spawnsAlong.ts, for a workflow).
 */
export type FirstSpawns = (started: AgentSnapshot) => Promise<{ readonly events: readonly DomainEvent[]; readonly openings: readonly Alongside[] } | null>;

/**
 * Decides an agent's first append: `AgentSpawned` (and `alsoRecord`); then, when this process
 * hosts the agent and a concurrency slot is free now (taken here), its start (which is the run
 * request too) and its first model call, else with `run` the run request alone. One commit opens
 * a child and asks for its first call. With nothing else to record first, the start is
 * AgentSpawned's own `started`: one event row fewer per agent (463 bytes with its index
 * entries, of ~11,500 per agent step in `npm run bench -- workflow`).
 */
export async function prepareOpening(rt: RuntimeContext, spawned: EventData<'AgentSpawned'>, run: boolean, alsoRecord: readonly DomainEvent[] = [], firstSpawns?: FirstSpawns): Promise<PreparedOpening> {
  // Decided outside a command, so kept from secrets here as a command's events are (callerSecrets.ts).
  const [spawnedClean, ...also] = withoutSecrets(rt, [{ type: 'AgentSpawned', data: spawned }, ...alsoRecord]);
  const data = spawnedClean!.data as EventData<'AgentSpawned'>;
  const id = data.agentId;
  // The opening's time, taken before it is decided, as a command's (commandExecutor.ts): a start's
  // deadline counts from it. Taken after the awaits below, the recorded start came up to 15 ms
  // after the deadline's own clock reading, leaving a 200 ms timeout 185 ms from it.
  const at = rt.deps.clock.now().toISOString();
  const lease = rt.worker?.leaseForNew(id);
  // Where the index follows the events, AgentSpawned writes the entry, leased as its metadata says.
  const follows = rt.deps.index.followsEvents;
  let leased = follows ? lease !== undefined : await rt.deps.index.register({ agentId: id, parentId: data.parentId, rootId: data.rootId }, lease);
  const slot = slotForStart(rt, id, run && (!rt.worker || leased));
  const startsInOpening = slot.taken && alsoRecord.length === 0;
  const opened: DomainEvent = { type: 'AgentSpawned', data: startsInOpening ? { ...data, started: startOfRun(rt, data.timeoutMs) } : data };
  const events: DomainEvent[] = [opened];
  let snapshot = foldResting([opened]);
  let along: readonly Alongside[] = [];
  const record = (e: DomainEvent): void => {
    if (!snapshot.can(e)) throw new InvalidTransition(id, JSON.stringify(snapshot.value), e.type);
    snapshot = pureTransition(agentMachine, snapshot, e)[0];
    events.push(e);
  };
  try {
    also.forEach(record);
    // A start is also the run request (it implies it): the request is recorded on its own only
    // when the agent must wait for a slot or for the process that holds its lease.
    if (slot.taken && !startsInOpening) record(startedEvent(rt, snapshot.context));
    else if (run && !slot.taken) record({ type: 'AgentRunRequested', data: {} });
    // Started here with nothing to open first: its first model call is asked for in the same
    // append (what decideNext would append next, one commit later). A failure (no budget for a
    // turn) is left to decideNext, so an opening never ends an agent.
    if (slot.taken && data.kind === 'agent' && !data.workspace) {
      const turn = await turnEvents(rt, snapshot);
      if (turn.some((e) => e.type === 'ModelRequested')) turn.forEach(record);
    }
    // Started here: what its start spawns (a workflow's first nodes) opens in the same commit,
    // as it would in the start's own (runStart.ts): a root spawned started takes one commit, not two.
    const spawns = slot.taken && firstSpawns ? await firstSpawns(snapshot) : null;
    if (spawns) {
      along = spawns.openings;
      spawns.events.forEach(record);
    }
  } catch (err) {
    await Promise.all(along.map((a) => a.settle(null)));
    slot.undo();
    rt.worker?.release(id);
    throw err;
  }
  const causationId = data.parentId ? `agent:${data.parentId}` : 'api:spawn';
  const envelopes: EventToAppend[] = events.map((e, i) => ({
    id: i === 0 ? rt.deps.ids.derive('spawn', id) : rt.deps.ids.uuid(),
    type: e.type,
    data: e.data,
    metadata: leanMetadata(agentStream(id), { correlationId: data.rootId, causationId, schemaVersion: eventSchemas[e.type].version, at, ...(i === 0 && follows && lease ? { leaseTo: lease } : {}) }),
  }));
  let settled = false;
  const append = { streamId: agentStream(id), events: envelopes, expectedRevision: 'no_stream' as const, ...attachmentsOf(events) };
  return {
    append,
    along,
    async settle(outcome) {
      if (settled) return;
      settled = true;
      if (outcome === null) {
        slot.undo();
        rt.worker?.release(id);
        return;
      }
      if (!outcome.ok) {
        slot.undo();
        const err = outcome.error;
        // Already opened, by an opening batch of another shape (with or without the run request
        // and the start: a spawn run again, recovery racing a run). Its first event's id is
        // derived from the agent's, so the store refuses it as a different batch under that id.
        // A batch of the same shape is an idempotent success instead: both are treated alike.
        if (err instanceof IdempotencyConflict && data.parentId) {
          if (rt.worker) await rt.worker.adopt(id, leased && !follows);
          return;
        }
        // Not opened here: the room taken for it goes back (whoever opened it hosts it).
        rt.worker?.release(id);
        if (isWrongExpectedRevision(err) && data.parentId) return; // already opened (recovery retry)
        if (isWrongExpectedRevision(err)) throw new InvalidInput('spawn.id', `agent ${id} already exists`);
        throw err;
      }
      if (append.attachments) rt.deps.blobs.stored(append.attachments);
      // Idempotent: stored before (a retry), so the entry was not written now with this lease.
      if (outcome.value.idempotent) leased &&= !follows;
      if (rt.worker) await rt.worker.adopt(id, leased);
      if (!rt.actors.has(id)) rt.actors.set(id, new LiveActor(id, adopt(rt, snapshot), BigInt(events.length - 1)));
      // Nothing ran the effects of the events folded above: what they made due runs now.
      if (run) rt.reconcileSoon(id);
    },
  };
}

/**
 * Sends a prepared opening in an append of its own, with the openings that ride along in the same
 * commit (each only if the one before it was stored), and settles each with its outcome.
 */
export async function appendOpening(rt: RuntimeContext, opening: PreparedOpening): Promise<void> {
  const { streamId, events, expectedRevision, attachments } = opening.append;
  const outcomes: readonly (AppendOutcome | null)[] = opening.along.length === 0
    ? [await appendOwn(rt, streamId, events, { expectedRevision, ...(attachments ? { attachments } : {}) }).then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }))]
    : await appendChainOwn(rt, [opening.append, ...opening.along.map((a) => a.append)]).then((all) => all.map(sentOrNull), (error: unknown) => [{ ok: false as const, error }]);
  try {
    await opening.settle(outcomes[0] ?? null);
  } finally {
    for (const [i, a] of opening.along.entries()) await a.settle(outcomes[i + 1] ?? null);
  }
}
